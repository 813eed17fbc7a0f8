// Differential: every helper answers exactly what node:path answers, for paths in normal form (sliced)
// and for everything else (handed to node:path).
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import fc from "fast-check";
import { expect, test } from "vitest";
import { isWithin, joinName, relativeUnder, resolveUnder, splitPath } from "./posix-path.ts";

const segment = fc.constantFrom("a", "b", ".", "..", "", ".git", "..x", "x..", "a b", "\\", "...");
const path = fc.array(segment, { maxLength: 5 }).map((s) => s.join("/"));
const absolute = path.map((p) => `/${p}`);
const anyPath = fc.oneof(
  path,
  absolute,
  absolute.map((p) => `${p}/`),
);

/** ours(a, b) equals theirs(a, b) for every pair drawn. */
const agrees = <A, B>(a: fc.Arbitrary<A>, b: fc.Arbitrary<B>, ours: (a: A, b: B) => unknown, theirs: (a: A, b: B) => unknown) =>
  fc.assert(
    fc.property(a, b, (x, y) => {
      expect(ours(x, y)).toEqual(theirs(x, y));
    }),
    { numRuns: 5000 },
  );

test("resolveUnder is path.resolve", () => agrees(absolute, anyPath, resolveUnder, resolve));

test("relativeUnder is path.relative", () => {
  agrees(absolute, anyPath, relativeUnder, relative);
  // as validate asks: a path resolved under the folder
  agrees(
    absolute,
    path,
    (dir, rel) => relativeUnder(dir, resolve(dir, rel)),
    (dir, rel) => relative(dir, resolve(dir, rel)),
  );
});

test("splitPath is path.dirname and path.basename", () =>
  agrees(
    anyPath,
    fc.constant(0),
    (p) => splitPath(p),
    (p) => [dirname(p), basename(p)],
  ));

test("joinName is path.join", () => agrees(anyPath, segment, joinName, join));

test("isWithin is what path.relative says: no way up", () => {
  const normal = absolute.map((p) => resolve(p));
  agrees(normal, normal, isWithin, (folder, p) => {
    const r = relative(folder, p);
    return r !== ".." && !r.startsWith("../") && !isAbsolute(r);
  });
});
