import { mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "vitest";
import { nodeFs } from "./load.ts";

test("nodeFs: what one lstat per path said, also when a folder's listing answers for its children", () => {
  const root = realpathSync(mkdtempSync(join(tmpdir(), "multiarch-fs-")));
  const services = join(root, "services");
  for (const name of ["a", "b", "c"]) {
    mkdirSync(join(services, name), { recursive: true });
    writeFileSync(join(services, name, "Dockerfile"), "FROM scratch\n");
  }
  writeFileSync(join(services, "notes.txt"), "");
  mkdirSync(join(root, "elsewhere"));
  symlinkSync(join(root, "elsewhere"), join(services, "linked"));
  const fs = nodeFs();
  // the first child of services/ is lstat'ed, the next ones come from its listing: the same answers
  for (const name of ["a", "b", "c"]) {
    expect(fs.realpath(join(services, name))).toBe(join(services, name));
    expect(fs.kind(join(services, name))).toBe("dir");
  }
  expect(fs.realpath(join(services, "notes.txt"))).toBe(join(services, "notes.txt"));
  expect(fs.kind(join(services, "notes.txt"))).toBe("file");
  // a link is followed to where it points
  expect(fs.realpath(join(services, "linked"))).toBe(join(root, "elsewhere"));
  expect(fs.kind(join(root, "elsewhere"))).toBe("dir");
  // not listed: asked again of the file system (a case-insensitive one would find it), missing here
  expect(fs.realpath(join(services, "missing"))).toBeUndefined();
  expect(fs.realpath(join(services, "A"))).toBeUndefined();
  expect(fs.realpath(join(services, "a", "Dockerfile"))).toBe(join(services, "a", "Dockerfile"));
  expect(fs.kind(join(services, "a", "Dockerfile"))).toBe("file");
});
