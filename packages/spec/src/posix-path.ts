// node:path's resolve, relative, dirname, basename and join normalise character by character: 3-5 µs a
// call until they are hot, and validate asks about ten per image (a tenth of its time at 250 images).
// The paths asked about are mostly in normal form already (absolute, no ".", ".." or empty segment):
// those are joined and cut by slicing. Anything else, and any system whose separator is not "/", is
// left to node:path, so every answer is node:path's.
import { basename, dirname, join, relative, resolve, sep } from "node:path";

const POSIX = sep === "/";
/** A relative path in normal form: segments neither empty nor "." nor "..". */
const PLAIN = /^(?:(?!\.\.?\/)[^/]+\/)*(?!\.\.?$)[^/]+$/;

/** path.resolve(dir, rel) for an absolute dir in normal form. */
export function resolveUnder(dir: string, rel: string): string {
  return POSIX && PLAIN.test(rel) && isNormal(dir) ? (dir === "/" ? `/${rel}` : `${dir}/${rel}`) : resolve(dir, rel);
}

/** path.relative(dir, abs) for absolute paths in normal form. */
export function relativeUnder(dir: string, abs: string): string {
  if (POSIX && isNormal(dir)) {
    if (abs === dir) return "";
    const prefix = dir === "/" ? "/" : `${dir}/`;
    if (abs.startsWith(prefix)) {
      const rest = abs.slice(prefix.length);
      if (PLAIN.test(rest)) return rest;
    }
  }
  return relative(dir, abs);
}

/** [path.dirname(p), path.basename(p)]. */
export function splitPath(p: string): [string, string] {
  const i = p.lastIndexOf("/");
  // no separator, a trailing one, or two in a row: node:path's rules for those
  if (!POSIX || i <= 0 || i === p.length - 1 || p[i - 1] === "/") return [dirname(p), basename(p)];
  return [p.slice(0, i), p.slice(i + 1)];
}

/** path.join(dir, name) for an absolute dir in normal form and one segment. */
export function joinName(dir: string, name: string): string {
  return POSIX && isNormal(dir) && PLAIN.test(name) && !name.includes("/") ? (dir === "/" ? `/${name}` : `${dir}/${name}`) : join(dir, name);
}

/** path is folder or inside it (both absolute, in normal form; "/" holds every absolute path). */
export function isWithin(folder: string, path: string): boolean {
  return path === folder || path.startsWith(folder.endsWith(sep) ? folder : folder + sep);
}

const isNormal = (dir: string): boolean => dir === "/" || (dir.startsWith("/") && PLAIN.test(dir.slice(1)));
