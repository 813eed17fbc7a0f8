import { expect, test } from "vitest";
import { mapLimit } from "./concurrency.ts";

test("mapLimit keeps input order and starts no item after a failure", async () => {
  expect(await mapLimit([3, 1, 2], 2, async (n) => n * 2)).toEqual([6, 2, 4]);
  const started: number[] = [];
  const run = mapLimit([1, 2, 3, 4, 5, 6], 2, async (n) => {
    started.push(n);
    await new Promise((r) => setTimeout(r, n === 1 ? 1 : 20));
    if (n === 1) throw new Error("one failed");
    return n;
  });
  await expect(run).rejects.toThrow("one failed");
  await new Promise((r) => setTimeout(r, 100));
  // 1 and 2 started together; 1 failed, so 3-6 never did (2 was already running)
  expect(started).toEqual([1, 2]);
});
