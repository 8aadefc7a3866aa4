import hostedGitInfo from 'hosted-git-info';

/** The lower-case host a repository URL lives on (`github.com`), from any form npm accepts. */
export function repositoryHost(url: string): string | undefined {
  const hosted = hostedGitInfo.fromUrl(url);
  if (hosted?.domain) return hosted.domain.toLowerCase();
  const scp = /^(?:[\w.-]+@)?([\w.-]+):(?!\/\/)/.exec(url);
  try {
    return new URL(url.replace(/^git\+/, '')).hostname.toLowerCase() || undefined;
  } catch {
    return scp?.[1]?.toLowerCase();
  }
}
