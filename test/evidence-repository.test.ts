// src/evidence/repository.ts: how a manifest's `repository` becomes the URL a package is
// judged under (the feed's repository mapping, Scorecard's project, source match's checkout).
// A wrong normalisation maps a package to another repository, or lets a directory escape it.
import { describe, expect, it } from 'vitest';
import {
  cleanDirectory,
  normalizeCommit,
  normalizeRepository,
  normalizeRepositoryUrl,
  repositoryKey,
  sameRepository,
  splitRepository,
  splitTreeUrl,
} from '../src/evidence/repository';
import { scorecardUrl } from '../src/evidence/scorecard';

describe('normalizeCommit', () => {
  const commit = 'AbCdEf0123456789abcdef0123456789ABCDEF01';

  it('takes a full 40-hex commit id, trimmed and lower-cased', () => {
    expect(normalizeCommit(` ${commit}\n`)).toBe(commit.toLowerCase());
  });

  it.each([['v1.0.0'], ['main'], [commit.slice(1)], [`${commit}0`], [`${commit.slice(1)}g`], [42], [undefined], [null]])('refuses %j', (value) => {
    expect(normalizeCommit(value)).toBeUndefined();
  });
});

describe('normalizeRepositoryUrl on hosts hosted-git-info does not know', () => {
  it.each([
    ['http://git.example.com/team/project', 'https://git.example.com/team/project'],
    ['ssh://git@git.example.com/team/project', 'https://git.example.com/team/project'],
    ['git+http://git.example.com/team/project', 'https://git.example.com/team/project'],
    // an scp path inside an ssh URL; a port is not a path
    ['ssh://git@git.example.com:team/project', 'https://git.example.com/team/project'],
    ['ssh://git@git.example.com:2222/team/project.git', 'https://git.example.com/team/project'],
    // scp-like, with and without a user
    ['git@git.example.com:team/project.git', 'https://git.example.com/team/project'],
    ['deploy.bot@git.example.com:team/project', 'https://git.example.com/team/project'],
    ['git.example.com:team/project', 'https://git.example.com/team/project'],
    // the host lower-cased, the path kept; `.git` and trailing slashes in any order and case
    ['  https://Git.Example.COM/Team/Project  ', 'https://git.example.com/Team/Project'],
    ['https://git.example.com/team/project.GIT/', 'https://git.example.com/team/project'],
    ['https://git.example.com/team/project.git//', 'https://git.example.com/team/project'],
    ['https://git.example.com/team/project//', 'https://git.example.com/team/project'],
    ['https://git.example.com/team/project//.git', 'https://git.example.com/team/project'],
    ['git://git.example.com/team/project', 'https://git.example.com/team/project'],
    // `git+`, `.git` and `ssh://` are only taken off where they mean that
    ['https://git.example.com/team/my.gitrepo', 'https://git.example.com/team/my.gitrepo'],
    ['https://git.example.com/git+team/project', 'https://git.example.com/git+team/project'],
    ['https://git.example.com/ssh://team:x/project', 'https://git.example.com/ssh://team:x/project'],
  ])('%s → %s', (input, expected) => {
    expect(normalizeRepositoryUrl(input)).toBe(expected);
  });

  it.each([
    ['file:///srv/git/project'],
    ['ftp://git.example.com/team/project'],
    ['git:///team/project'],
    ['https://git.example.com'],
    ['https://git.example.com/'],
    ['https://git.example.com/.git'],
    // no dot in the host, or a one-letter top-level domain: not an scp path
    ['git@localhost:team/project'],
    ['git@git.example.c:team/project'],
    // a port and no path
    ['ssh://git@git.example.com:2222'],
    // a line break is no part of a repository's name
    ['git@git.example.com:team/project\nother'],
    ['   '],
  ])('names no repository: %j', (input) => {
    expect(normalizeRepositoryUrl(input)).toBeUndefined();
  });

  it('hosts it knows: the project without .git, however the path ends', () => {
    expect(normalizeRepositoryUrl('https://github.com/o/r.git/')).toBe('https://github.com/o/r');
    expect(normalizeRepositoryUrl('https://github.com/o/r.GIT')).toBe('https://github.com/o/r');
    expect(normalizeRepositoryUrl(' github:o/r ')).toBe('https://github.com/o/r');
  });
});

describe('splitTreeUrl', () => {
  it.each([
    ['https://github.com/owner/repo/tree/main/packages/x', { url: 'https://github.com/owner/repo', directory: 'packages/x' }],
    ['git+https://github.com/owner/repo/tree/main/x', { url: 'git+https://github.com/owner/repo', directory: 'x' }],
    ['http://git.example.com/owner/repo/tree/v1/x', { url: 'http://git.example.com/owner/repo', directory: 'x' }],
    ['https://gitlab.com/group/repo/-/tree/v1/libs/a', { url: 'https://gitlab.com/group/repo', directory: 'libs/a' }],
    ['  https://github.com/owner/repo/tree/v1/a/b  ', { url: 'https://github.com/owner/repo', directory: 'a/b' }],
    ['https://github.com/owner/repo/tree/main', { url: 'https://github.com/owner/repo' }],
    ['https://github.com/owner/repo/tree/main/', { url: 'https://github.com/owner/repo' }],
    ['https://github.com/owner/repo/tree/main/..', { url: 'https://github.com/owner/repo' }],
  ])('%s', (input, expected) => {
    expect(splitTreeUrl(input)).toEqual(expected);
  });

  it('leaves any other URL as it is', () => {
    for (const url of [
      'https://github.com/owner/repo',
      'https://github.com/owner/repo/blob/main/x',
      'ssh://git@github.com/owner/repo/tree/main/x',
      'https://github.com/owner/tree/main/x',
      'see https://github.com/owner/repo/tree/main/x',
      'https://github.com/owner/repo/tree/main/x\ny',
    ]) {
      expect(splitTreeUrl(url)).toEqual({ url });
    }
  });
});

describe('cleanDirectory', () => {
  it.each([
    ['packages/x', 'packages/x'],
    ['packages\\x', 'packages/x'],
    ['./a/./b/', 'a/b'],
    ['/a//b', 'a/b'],
  ])('%j → %j', (input, expected) => {
    expect(cleanDirectory(input)).toBe(expected);
  });

  it.each([[''], ['.'], ['/'], ['..'], ['../x'], ['a/../../b'], ['a\\..\\..\\b'], ['a/..']])('refuses %j (empty, or leaving the repository)', (input) => {
    expect(cleanDirectory(input)).toBeUndefined();
  });
});

describe('normalizeRepository', () => {
  it('takes the legacy repositories[0] only without a repository field', () => {
    expect(normalizeRepository(undefined, ['https://github.com/a/first', 'https://github.com/a/second'])).toEqual({ url: 'https://github.com/a/first' });
    expect(normalizeRepository('https://github.com/a/field', ['https://github.com/a/legacy'])).toEqual({ url: 'https://github.com/a/field' });
    expect(normalizeRepository(undefined, [])).toBeUndefined();
    expect(normalizeRepository(undefined, [42, 'https://github.com/a/second'])).toBeUndefined();
    expect(normalizeRepository(undefined, 'https://github.com/a/not-a-list')).toBeUndefined();
  });

  it('a directory from the object form, or from a tree URL when the object has none', () => {
    expect(normalizeRepository({ url: 'https://github.com/o/r/tree/main/a' })).toEqual({ url: 'https://github.com/o/r', directory: 'a' });
    expect(normalizeRepository({ url: 'https://github.com/o/r/tree/main/a', directory: 'b' })).toEqual({ url: 'https://github.com/o/r', directory: 'b' });
    expect(normalizeRepository({ url: 'https://github.com/o/r/tree/main/a', directory: '../b' })).toEqual({ url: 'https://github.com/o/r' });
    expect(normalizeRepository({ url: 'https://github.com/o/r', directory: '' })).toEqual({ url: 'https://github.com/o/r' });
  });
});

describe('sameRepository', () => {
  it.each([
    ['https://github.com/o/r', 'http://github.com/o/r'],
    ['https://github.com/o/r', 'https://GitHub.com/O/R'],
    ['https://github.com/o/r', 'https://github.com/o/r.git'],
    ['https://github.com/o/r', 'https://github.com/o/r//'],
  ])('%s is %s', (a, b) => {
    expect(sameRepository(a, b)).toBe(true);
    expect(sameRepository(b, a)).toBe(true);
  });

  it.each([
    ['https://github.com/o/r', 'https://github.com/o/r2'],
    ['https://github.com/o/r', 'https://github.com/o/rr'],
    ['https://github.com/o/r', 'https://gitlab.com/o/r'],
    ['https://github.com/o/r', 'https://github.com/o'],
    // `.git` only as the suffix, the scheme only as the prefix
    ['https://github.com/o/my.gitx', 'https://github.com/o/myx'],
    ['https://github.com/o/r.git.x', 'https://github.com/o/r.x'],
    ['ssh://h.example/https://o/r', 'ssh://h.example/o/r'],
  ])('%s is not %s', (a, b) => {
    expect(sameRepository(a, b)).toBe(false);
  });

  it('keys keep what names the repository', () => {
    expect(repositoryKey('HTTPS://GitHub.com/O/R.git')).toBe('github.com/o/r');
    expect(repositoryKey('https://github.com/o/r.git/')).toBe('github.com/o/r.git');
  });
});

describe('splitRepository and the Scorecard project it names', () => {
  it('only an https URL of exactly host/owner/repo', () => {
    expect(splitRepository('https://github.com/o/r')).toEqual({ host: 'github.com', owner: 'o', repo: 'r' });
    for (const url of ['https://gitlab.com/group/sub/repo', 'https://github.com/o/r/', 'http://github.com/o/r', 'git+https://github.com/o/r', 'https://github.com/o']) {
      expect(splitRepository(url)).toBeUndefined();
    }
  });

  it('a repository deeper than owner/repo is not looked up as its parent', () => {
    expect(scorecardUrl(undefined, 'https://github.com/o/r')).toBe('https://api.securityscorecards.dev/projects/github.com/o/r');
    expect(scorecardUrl(undefined, 'https://github.com/o/r/x')).toBeUndefined();
  });
});
