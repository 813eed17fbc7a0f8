// See the build (issue 15): the HTML report of a real apply with one failing platform, opened in Debian's
// headless Chromium (driven by playwright-core): what a person sees — every image row, the failed cell,
// its error text — no console errors, a screenshot kept in test/artifacts; and a 200-image report stays
// readable and renders fast.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { htmlReport } from "../../packages/cli/src/html-report.ts";
import { cli, env, namespace, repo } from "./helpers.ts";

type Report = Parameters<typeof htmlReport>[0];
type Plan = Parameters<typeof htmlReport>[1];

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = resolve(import.meta.dirname, "../artifacts");

// scripts/test-all.sh installs Chromium (MULTIARCH_BROWSER=1 test/env/up.sh); elsewhere the test skips, never in CI
describe.skipIf(!env || (!existsSync(CHROMIUM) && process.env.CI !== "true"))("the HTML report in a real browser", () => {
  let browser: Browser;
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  });
  afterAll(() => browser?.close());

  async function open(file: string, width = 1300) {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    const problems: string[] = [];
    page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
    page.on("pageerror", (e) => problems.push(e.message));
    page.on("request", (r) => !r.url().startsWith("file:") && problems.push(`network: ${r.url()}`));
    const t0 = performance.now();
    await page.goto(`file://${file}`, { waitUntil: "load" });
    return { page, problems, loadMs: performance.now() - t0 };
  }

  test("a real apply with one failing platform: every image row, the failed cell with its error, no console errors", async () => {
    const ns = namespace("report");
    const dir = repo({
      "multiarch.yaml": `version: 1\nplatforms: [linux/amd64, linux/arm64]\nregistries:\n  local: { url: "${env!.registry}/${ns}", insecure: true }\nimages:\n  ok: { context: ok }\n  broken: { context: broken }\n`,
      "ok/Dockerfile": `FROM ${env!.baseImage}\nRUN echo fine\n`,
      "broken/Dockerfile": `FROM ${env!.baseImage}\nRUN if [ "$(uname -m)" = aarch64 ]; then echo "no arm64 support yet" >&2; exit 3; fi\n`,
    });
    const file = join(dir, "out/report.html");
    const summary = join(dir, "step-summary.md");
    const r = await cli(["apply", "-f", join(dir, "multiarch.yaml"), "--report", file], { env: { GITHUB_STEP_SUMMARY: summary } });
    expect(r.exitCode).toBe(2); // written on failure too
    expect(r.stderr).toContain("report: ");
    // the job summary GitHub shows on the run page
    const md = readFileSync(summary, "utf8");
    expect(md).toContain("| image | status | platforms | digest | tags |");
    expect(md).toContain("| broken | ❌ failed | linux/amd64, linux/arm64 |");
    const { page, problems } = await open(file);
    expect(await page.locator("#matrix tbody tr").count()).toBe(2);
    const failed = page.locator('tr[data-image="broken"] td.failed[data-platform="linux/arm64"]');
    await expect(failed.isVisible()).resolves.toBe(true);
    expect(await failed.innerText()).toContain("no arm64 support yet");
    // the other cells are not shown as failures
    expect(await page.locator("td.failed").count()).toBe(1);
    expect(await page.locator("h1 .badge").innerText()).toBe("failed (exit 2)");
    await page.screenshot({ path: join(ARTIFACTS, "report-failed-platform.png"), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  }, 240_000);

  test("200 images x 3 platforms: readable (every row, nothing wider than the window), fast, small", async () => {
    const platforms = ["linux/amd64", "linux/arm64", "linux/arm/v7"];
    const names = Array.from({ length: 200 }, (_, i) => `service-${String(i).padStart(3, "0")}`);
    const d = (i: number) => `sha256:${i.toString(16).padStart(64, "0")}`;
    const steps: Report["steps"] = names.flatMap((n, i): Report["steps"] => [
      { id: `verify:${n}@local`, kind: "verify", image: n, status: "ok", startMs: 40_000 + i * 50, durationMs: 300, attempts: 1 },
      ...platforms.map((p, k): Report["steps"][number] => ({
        id: `test:${n}/${p}`,
        kind: "test",
        image: n,
        platform: p,
        status: "ok",
        startMs: 50_000 + i * 60 + k,
        durationMs: 400 + k * 900,
        attempts: 1,
      })),
    ]);
    steps.unshift({ id: "bake:1", kind: "bake", status: "ok", startMs: 0, durationMs: 40_000, attempts: 1 });
    const report: Report = {
      ok: true,
      exitCode: 0,
      durationMs: 70_000,
      steps,
      images: names.map((n, i) => ({ name: n, platforms, digest: d(i), tags: [`r/${n}:1.0`, `r/${n}:latest`], durationMs: 60_000, status: "published" })),
      tags: names.flatMap((n, i) =>
        ["1.0", "latest"].map((t) => ({ image: n, ref: `127.0.0.1:5000/bench/${n}:${t}`, status: "moved" as const, digest: d(i) })),
      ),
      staged: [],
    };
    const plan = {
      version: 3,
      spec: "multiarch.yaml",
      cwd: ".",
      strategy: { requested: "auto", chosen: "bake", reason: "t" },
      images: names.map((n, i) => ({ name: n, platforms, dependsOn: [], refs: [], ...(i % 7 === 0 ? { changed: ["context"] } : {}) })),
      stages: [],
      secrets: [],
    } as Plan;
    const file = join(ARTIFACTS, "report-200-images.html");
    writeFileSync(file, htmlReport(report, plan, { title: "multiarch apply: 200 images", hostPlatform: "linux/amd64" }));
    const size = statSync(file).size;
    const { page, problems, loadMs } = await open(file);
    expect(await page.locator("#matrix tbody tr").count()).toBe(200);
    const overflow = await page.evaluate(() => {
      const root = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }).document.documentElement;
      return root.scrollWidth - root.clientWidth;
    });
    expect(overflow).toBeLessThanOrEqual(0);
    expect(await page.locator(".bar.qemu").count()).toBe(400); // arm64 and arm/v7 tests ran emulated
    await page.screenshot({ path: join(ARTIFACTS, "report-200-images.png") });
    expect(problems).toEqual([]);
    console.log(`200-image report: ${(size / 1024).toFixed(0)} KiB, loaded and rendered in ${loadMs.toFixed(0)} ms`);
    expect(loadMs).toBeLessThan(5000);
    await page.close();
  }, 120_000);
});
