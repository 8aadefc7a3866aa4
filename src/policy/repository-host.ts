import hostedGitInfo from 'hosted-git-info';

/** The lower-case host a repository URL lives on (`github.com`), from any form npm accepts. */
export function repositoryHost(url: string): string | undefined {
  // Feed records normally hold full URLs: parse those directly (hosted-git-info is ~15x slower).
  if (/^(git\+)?[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    try {
      return new URL(url.replace(/^git\+/i, '')).hostname.toLowerCase() || undefined;
    } catch {
      // fall through to the other forms
    }
  }
  // Shorthands (`github:owner/repo`, `owner/repo`) and scp-like `git@host:owner/repo`.
  const hosted = hostedGitInfo.fromUrl(url);
  if (hosted?.domain) return hosted.domain.toLowerCase();
  return /^(?:[\w.-]+@)?([\w.-]+\.[\w-]+):(?!\/\/)/.exec(url)?.[1]!.toLowerCase();
}
