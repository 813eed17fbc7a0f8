// A context file edited after apply hashed the inputs and before the build read them (found by a
// failure-scenario review): the image held the new content under the old inputs' hash, so a later run on
// the old content said "up to date". The inputs are read again after the build; changed, the image is
// failed and none of its tags move. The file is edited when the build step starts: buildx reads the
// context after that, and the RUN sleep (uncached: it names the test's namespace) keeps the build running
// past the edit either way.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, test } from "vitest";
import { BIN, env, namespace, reportOf, repo, tagsOf } from "./helpers.ts";

interface Image {
  name: string;
  status: string;
  reason?: string;
}

/** edited (its app.txt is edited during the build), child FROM edited, steady: one platform, the engine's own. */
function monorepo(ns: string): string {
  return repo({
    "multiarch.yaml": `version: 1
platforms: [linux/amd64]
registries: { local: { url: "${env!.registry}/${ns}", insecure: true } }
defaults: { tags: ["1.0"] }
images:
  edited: { context: edited }
  child: { context: child, contexts: { edited: "image:edited" } }
  steady: { context: steady }
`,
    "edited/Dockerfile": `FROM ${env!.baseImage}\nRUN echo ${ns} && sleep 1\nCOPY app.txt /app.txt\n`,
    "edited/app.txt": "v1\n",
    "child/Dockerfile": "FROM edited\nRUN cat /app.txt > /child.txt\n",
    "steady/Dockerfile": `FROM ${env!.baseImage}\nRUN echo steady > /steady.txt\n`,
  });
}

/** apply, with edited/app.txt rewritten as soon as a build step starts (the inputs are hashed by then). */
async function applyEditing(dir: string, ...extra: string[]) {
  const run = execa(process.execPath, [BIN, "apply", "-f", join(dir, "multiarch.yaml"), "--json", ...extra], {
    env: { NO_COLOR: "1" },
    reject: false,
    stdin: "ignore",
  });
  let edited = false;
  run.stderr!.on("data", (chunk: Buffer) => {
    if (!edited && /^ {3}(bake|build)\S* \.\.\.$/m.test(String(chunk))) {
      edited = true;
      writeFileSync(join(dir, "edited/app.txt"), "v2, edited during the build\n");
    }
  });
  const r = await run;
  expect(edited, String(r.stderr)).toBe(true);
  return { exitCode: r.exitCode, stderr: String(r.stderr), images: reportOf(String(r.stdout)).images as Image[] };
}

const statuses = (images: Image[]) => Object.fromEntries(images.map((i) => [i.name, i.status]));

describe.skipIf(!env)("an input edited during the build", () => {
  test("bake --continue: the edited image failed, naming the file, its dependent skipped, the other published; apply again publishes it", async () => {
    const ns = namespace("impl-input-race-bake");
    const dir = monorepo(ns);
    const r = await applyEditing(dir, "--strategy", "bake", "--continue");
    expect(r.exitCode, r.stderr).toBe(2);
    expect(statuses(r.images)).toEqual({ edited: "failed", child: "skipped", steady: "published" });
    const reason = r.images.find((i) => i.name === "edited")!.reason!;
    expect(reason).toContain("the inputs of edited changed during the build (edited/app.txt)");
    expect(reason).toContain("nothing of it was published; run the command again");
    // no tag holds the edited content under the hash of v1
    expect(await tagsOf(`${ns}/edited`)).toEqual([]);
    expect(await tagsOf(`${ns}/child`)).toEqual([]);
    expect(await tagsOf(`${ns}/steady`)).toEqual(["1.0"]);

    const again = await execa(process.execPath, [BIN, "apply", "-f", join(dir, "multiarch.yaml"), "--json"], { env: { NO_COLOR: "1" }, reject: false });
    expect(again.exitCode, String(again.stderr)).toBe(0);
    expect(statuses(reportOf(String(again.stdout)).images)).toEqual({ edited: "published", child: "published", steady: "up-to-date" });
  });

  test("manifest strategy, without --continue: nothing is published", async () => {
    const ns = namespace("impl-input-race-manifest");
    const dir = monorepo(ns);
    const r = await applyEditing(dir, "--strategy", "manifest");
    expect(r.exitCode, r.stderr).toBe(2);
    expect(statuses(r.images).edited).toBe("failed");
    expect(r.images.find((i) => i.name === "edited")!.reason).toContain("the inputs of edited changed during the build (edited/app.txt)");
    for (const image of ["edited", "child", "steady"]) expect(await tagsOf(`${ns}/${image}`)).toEqual([]);
  });
});
