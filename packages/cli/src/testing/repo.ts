// A throwaway repository for CLI tests: .git, app/Dockerfile (FROM scratch) and the spec given.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function repoWithSpec(spec: string, file = "multiarch.yaml"): string {
  const dir = mkdtempSync(join(tmpdir(), "multiarch-repo-"));
  mkdirSync(join(dir, ".git"));
  mkdirSync(join(dir, "app"));
  writeFileSync(join(dir, "app/Dockerfile"), "FROM scratch\n");
  writeFileSync(join(dir, file), spec);
  return dir;
}
