import { expect, test } from "vitest";
import { fsOf, problems } from "../testing/problems.ts";

const fs = fsOf(["/repo", "/repo/app", "/repo/other"], ["/repo/app/Dockerfile", "/repo/other/Dockerfile"]);
const spec = (images: string) =>
  `version: 1\nregistries:\n  local: { url: "127.0.0.1:5000/x" }\n  again: { url: "127.0.0.1:5000/x" }\n  elsewhere: { url: "127.0.0.1:5000/y" }\nimages:\n${images}`;

// Both registries' publish steps wrote the same tags at once (the registry answers 500 to that) and the
// summary listed every tag twice.
test("two registries of one image naming one repository are refused once, where the second is written", () => {
  expect(problems(spec("  app: { context: app }\n  other: { context: other }\n"), "/repo", fs)).toEqual([
    [
      "invalid-value",
      "registries local and again both name 127.0.0.1:5000/x/app (image app): it would be pushed and tagged there twice, by two steps at once",
      "remove one of them, or give image app only one of them (registries: [local])",
    ],
  ]);
  // each image names one of them: one push each, as written
  expect(problems(spec("  app: { context: app, registries: [local, elsewhere] }\n  other: { context: other, registries: [again] }\n"), "/repo", fs)).toEqual(
    [],
  );
});
