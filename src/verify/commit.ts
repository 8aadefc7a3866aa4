/** Which commit a published version was built from: `gitHead`, else a tag naming the version. */

/** Tag names that name `version` of `name`, in the order they are tried (SPEC "Source match"). */
export function tagCandidates(name: string, version: string): string[] {
  const unscoped = name.startsWith('@') ? name.slice(name.indexOf('/') + 1) : name;
  return [...new Set([`v${version}`, version, `${name}@${version}`, `${unscoped}@${version}`, `${unscoped}-v${version}`])];
}

export interface TagMatch {
  tag: string;
  commit: string;
}

/** The first candidate tag the remote has, with the commit it points at. */
export function findVersionTag(tags: ReadonlyMap<string, string>, name: string, version: string): TagMatch | undefined {
  for (const tag of tagCandidates(name, version)) {
    const commit = tags.get(tag);
    if (commit) return { tag, commit };
  }
  return undefined;
}
