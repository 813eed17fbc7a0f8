// The facts read from .git's files against git's own answers, on real repositories in each state plan
// meets: fresh commits (loose objects), clones and gc (packed refs and objects), detached HEADs as CI
// checks out, tags of both kinds, remotes, and the layouts the reader leaves to git.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { readGitFiles } from "./git-files.ts";
import { probeGit } from "./probe.ts";

const root = mkdtempSync(join(tmpdir(), "multiarch-git-files-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const env = { PATH: process.env.PATH, HOME: root, GIT_SSL_CAINFO: "/etc/ssl/certs/ca-certificates.crt" };
let n = 0;

function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, {
    cwd,
    env: { ...env, GIT_AUTHOR_NAME: "a", GIT_AUTHOR_EMAIL: "a@b", GIT_COMMITTER_NAME: "c", GIT_COMMITTER_EMAIL: "c@d", GIT_COMMITTER_DATE: "1700000000 +0100" },
    encoding: "utf8",
  }).trim();
}

/** A repository with one commit on main, made by git itself. */
function repo(): string {
  const dir = join(root, `r${n++}`);
  mkdirSync(dir);
  git(dir, "init", "-q", "-b", "main");
  writeFileSync(join(dir, "f"), "x\n");
  git(dir, "add", "f");
  git(dir, "commit", "-q", "-m", "one");
  return dir;
}

/** Both ways give the same facts; returns what the files said. */
async function same(dir: string, e: Record<string, string | undefined> = env) {
  const fromGit = await probeGit(dir, e, () => undefined);
  expect(await probeGit(dir, e)).toEqual(fromGit);
  return { files: readGitFiles(dir, e), fromGit };
}

describe("git facts from .git's files", () => {
  test("a fresh commit (loose objects), from a subfolder: no git process needed", async () => {
    const dir = repo();
    git(dir, "remote", "add", "origin", "git@github.com:acme/app.git");
    mkdirSync(join(dir, "sub"));
    const { files, fromGit } = await same(join(dir, "sub"));
    expect(files).toEqual({ head: `${git(dir, "rev-parse", "HEAD")} 1700000000`, branch: "main", tag: "", remote: "git@github.com:acme/app.git" });
    expect(fromGit).toMatchObject({ branch: "main", time: "1700000000", source: "https://github.com/acme/app" });
  });

  test("packed refs and objects (gc), tags of both kinds, a detached HEAD with CI variables", async () => {
    const dir = repo();
    git(dir, "tag", "-a", "v1.0.0", "-m", "release");
    git(dir, "gc", "-q");
    let { files } = await same(dir);
    expect(files).toMatchObject({ tag: "v1.0.0", branch: "main", remote: null });
    expect((files as { head: string }).head).toMatch(/^[0-9a-f]{40} 1700000000$/);
    git(dir, "checkout", "-q", "--detach");
    ({ files } = await same(dir, { ...env, GITHUB_REF_NAME: "feature", GITHUB_REF_TYPE: "branch" }));
    expect(files).toMatchObject({ branch: "", tag: "v1.0.0" });
    // a lightweight tag too: describe picks one of two, git says which
    git(dir, "tag", "light");
    ({ files } = await same(dir));
    expect(files).toMatchObject({ tag: null });
  });

  test("loose tags: lightweight, annotated, and one on another commit", async () => {
    const dir = repo();
    git(dir, "tag", "-a", "old", "-m", "old");
    writeFileSync(join(dir, "f"), "y\n");
    git(dir, "commit", "-q", "-am", "two");
    git(dir, "tag", "v2");
    expect((await same(dir)).files).toMatchObject({ tag: "v2" });
    git(dir, "tag", "-d", "v2");
    git(dir, "tag", "-a", "v3", "-m", "three");
    expect((await same(dir)).files).toMatchObject({ tag: "v3" });
  });

  test("a branch whose short name is ambiguous, a clone (origin, packed-refs), no commits yet", async () => {
    const dir = repo();
    git(dir, "tag", "main");
    expect((await same(dir)).files).toBeUndefined(); // symbolic-ref --short says heads/main
    const clone = join(root, `r${n++}`);
    const origin = repo();
    git(root, "clone", "-q", origin, clone);
    expect((await same(clone)).files).toMatchObject({ branch: "main", remote: origin });
    git(root, "clone", "-q", dir, `${clone}-2`); // the tag came along
    expect((await same(`${clone}-2`)).files).toBeUndefined();
    const empty = join(root, `r${n++}`);
    mkdirSync(empty);
    git(empty, "init", "-q");
    const { files, fromGit } = await same(empty);
    expect(files).toBeUndefined();
    expect(fromGit).toEqual({ unavailable: expect.stringMatching(/has no commits yet/) });
  });

  test("no repository (an empty .git folder is none); worktrees and GIT_* variables but transport ones: git decides", async () => {
    const dir = join(root, `r${n++}`);
    mkdirSync(join(dir, ".git"), { recursive: true });
    const { files, fromGit } = await same(dir);
    expect(files).toBe("no-repository");
    expect(fromGit).toEqual({ unavailable: expect.stringMatching(/not inside a git repository/) });
    const main = repo();
    const tree = join(root, `r${n++}`);
    git(main, "worktree", "add", "-q", tree);
    expect((await same(tree)).files).toBeUndefined();
    expect((await same(main, { ...env, GIT_DIR: join(main, ".git") })).files).toBeUndefined();
    expect((await same(main, { ...env, GIT_CEILING_DIRECTORIES: root })).files).toBeUndefined();
  });

  test("config the reader does not follow: includes, quoted values", async () => {
    const dir = repo();
    git(dir, "config", "remote.origin.url", "https://user@example.com/a b.git");
    writeFileSync(join(root, "inc"), '[remote "origin"]\n\turl = https://example.com/other.git\n');
    expect((await same(dir)).files).toMatchObject({ remote: "https://user@example.com/a b.git" });
    git(dir, "config", "include.path", join(root, "inc"));
    expect((await same(dir)).files).toBeUndefined();
  });
});
