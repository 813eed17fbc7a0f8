// The output folder (.multiarch, or -o DIR) is the tool's own: nothing below it is followed through a
// symbolic link. A link committed to a repository (.multiarch/plans -> ~/.ssh) would otherwise make
// `plan` delete and overwrite files anywhere the user can write (a pull request's check runs it).
import { lstatSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import { makeDir } from "./make-dir.ts";

/** An error the CLI says as "cannot open PATH: …" (exit 4), as it says the file system's own. */
const linkRefused = (path: string): Error =>
  Object.assign(new Error(`ELOOP: a symbolic link, which multiarch follows nowhere in its own folder: remove it, open '${path}'`), {
    code: "ELOOP",
    syscall: "open",
    path,
  });

const isLink = (path: string): boolean => {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
};

/**
 * Makes `dir`, a folder at or below `root`, each folder below `root` a real one (a link there is refused).
 * `root` itself may be a link: the user named it (-o), or it was checked as the default one is.
 */
export function ownDir(root: string, dir: string): void {
  const rel = relative(resolve(root), resolve(dir));
  if (rel.startsWith("..")) throw new Error(`${dir} is not inside ${root}`);
  let at = resolve(root);
  makeDir(at);
  for (const part of rel ? rel.split(sep) : []) {
    at = join(at, part);
    if (isLink(at)) throw linkRefused(at);
    makeDir(at);
  }
}

/**
 * Makes `file`'s folder (with ownDir) and removes a link where the file goes, so whatever writes it next
 * (this process, or buildx writing an archive) writes a file of its own, never through the link.
 */
export function ownFile(root: string, file: string): void {
  ownDir(root, resolve(file, ".."));
  if (isLink(file)) rmSync(file);
}

/**
 * Writes `file` below `root`, as ownFile leaves it: whole or not at all (a full disk left an empty bake
 * file), and an error that names the file (node's ENOSPC from write names none).
 */
export function writeOwnFile(root: string, file: string, content: string | Uint8Array): void {
  ownFile(root, file);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, content);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    const err = e as NodeJS.ErrnoException;
    if (err.path === undefined) err.path = file;
    throw err;
  }
}

/** The default output folder (.multiarch beside the spec) must not be a link: a repository could point it anywhere. */
export const defaultOutProblem = (dir: string): string | undefined =>
  isLink(dir)
    ? `${dir} is a symbolic link: multiarch writes its own files there and follows no link to them (a repository may commit one); remove it, or name a folder with -o`
    : undefined;
