// found by a review: a pull request's check (apply --no-push), which the generated pipelines give no registry
// or signing secret, failed on those secrets: they were required whatever the plan read
import { describe, expect, test } from "vitest";
import { memoryIo } from "../testing/io.ts";
import { repoWithSpec } from "../testing/repo.ts";
import { compileAndWrite } from "./prepare.ts";
import { secretDiagnostics } from "./secret-sources.ts";

const SPEC = `version: 1
registries:
  r: { url: 127.0.0.1:5001/x, username: { env: REG_USER }, password: { env: REG_PASS } }
sign:
  key: { file: cosign.key }
  password: { env: COSIGN_PASSWORD }
images:
  app: { context: app }
`;

describe("secret sources", () => {
  test("only those the plan's steps read: none for --no-push, every one for a run that pushes and signs", async () => {
    const dir = repoWithSpec(SPEC);
    const codes = async (noPush: boolean) => {
      const io = memoryIo(dir);
      const prepared = await compileAndWrite({ strategy: "bake", "no-push": noPush }, io, { command: "apply", dryRun: true });
      if (!prepared.ok) throw new Error(io.err());
      prepared.lock.release();
      return secretDiagnostics(prepared.spec, {}, "error", prepared.plan).map((d) => d.message);
    };
    expect(await codes(true)).toEqual([]);
    expect(await codes(false)).toEqual([
      "registry r: username reads $REG_USER, which is not set",
      "registry r: password reads $REG_PASS, which is not set",
      "sign: key file cosign.key does not exist",
      "sign: password reads $COSIGN_PASSWORD, which is not set",
      "sign: publicKey file cosign.pub does not exist",
    ]);
  });
});
