// A read-only checkout of another commit beside the working tree, for comparing what it would build.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCommand } from "./runner.ts";

type Env = Readonly<Record<string, string | undefined>>;

/** `git worktree add --detach` of ref into a temporary folder; `remove` deletes it again. */
export async function checkoutAt(
  repoDir: string,
  ref: string,
  env: Env,
): Promise<{ ok: true; dir: string; root: string; remove: () => Promise<void> } | { ok: false; message: string }> {
  const top = await runCommand({ program: "git", args: ["rev-parse", "--show-toplevel"] }, { cwd: repoDir, env });
  if (!top.ok) return { ok: false, message: "--since needs the spec inside a git repository" };
  const root = top.stdout.trim();
  const commit = await runCommand({ program: "git", args: ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`] }, { cwd: root, env });
  if (!commit.ok) return { ok: false, message: `--since ${ref}: no such commit here (a shallow clone? fetch it first: git fetch --depth=1 origin ${ref})` };
  const dir = mkdtempSync(join(tmpdir(), "multiarch-since-"));
  const add = await runCommand({ program: "git", args: ["worktree", "add", "--detach", "--force", dir, commit.stdout.trim()] }, { cwd: root, env });
  if (!add.ok) {
    rmSync(dir, { recursive: true, force: true });
    return { ok: false, message: `--since ${ref}: git worktree add failed: ${add.stderr.trim().split("\n").pop()}` };
  }
  return {
    ok: true,
    dir,
    root,
    remove: async () => {
      await runCommand({ program: "git", args: ["worktree", "remove", "--force", dir] }, { cwd: root, env });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
