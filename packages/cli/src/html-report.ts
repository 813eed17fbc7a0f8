// apply/merge --report FILE.html: one self-contained page (inline CSS, no script, no network) built from the
// same report object as --json: per image x platform what happened (and the tail of an error), a timeline of
// the steps (emulated platforms marked), the digest each tag now holds, and what changed since the last
// publish. Pure: report and plan in, HTML out.
import { type Report, tagsLeft, tagWarnings } from "@multiarch/executor";
import type { Plan } from "@multiarch/plan";

type Step = Report["steps"][number];

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export interface Cell {
  status: "built" | "failed" | "up-to-date" | "reused" | "not-run" | "tested" | "skipped" | "cancelled";
  text: string;
  error?: string;
}

/** A quote of BuildKit's error summary, " > [TARGET PLATFORM STEP] INSTRUCTION:": the platform. */
const QUOTE = /^ > \[[^\s\]]+ ([a-z0-9]+\/[^\s\]]+) /;

/**
 * The part of a bake target's error that quotes this platform, when it quotes several (one image broken on
 * each): its first part keeps what comes before the quotes. The whole error when none is this platform's.
 */
function platformPart(error: string, platform: string): string {
  const lines = error.split("\n");
  const starts = lines.flatMap((l, i) => (QUOTE.test(l) ? [i] : []));
  if (starts.length < 2) return error;
  const parts = starts.map((at, k) => ({ platform: QUOTE.exec(lines[at]!)![1], text: lines.slice(k === 0 ? 0 : at, starts[k + 1]).join("\n") }));
  const mine = parts.filter((p) => p.platform === platform);
  return mine.length ? mine.map((p) => p.text).join("\n") : error;
}

/** What happened to one image on one platform, from its own steps and the shared bake step. */
export function cellOf(report: Report, plan: Plan, image: string, platform: string): Cell {
  const img = report.images.find((i) => i.name === image);
  const planned = plan.images.find((i) => i.name === image);
  if (img?.status === "up-to-date") return { status: "up-to-date", text: "up to date" };
  const mine = report.steps.filter((s) => s.image === image && (s.platform === undefined || s.platform === platform));
  const shared = report.steps.filter((s) => s.kind === "bake" && !s.image && (s.platform === undefined || s.platform === platform));
  // a bake builds every image at once: what it did to this one, per target, as the executor read BuildKit's log
  const target = shared.flatMap((s) => (s.targets ?? []).filter((t) => t.target === image).map((t) => ({ step: s, ...t })))[0];
  // a step of this image on this platform (or on all), or a bake that could not say which target broke
  const failedHere = (s: Step) => s.status === "failed" && !s.targets;
  const failed = mine.find(failedHere) ?? shared.find(failedHere);
  if (img?.status === "skipped") return { status: "skipped", text: `skipped: ${img.reason ?? "a dependency failed"}` };
  if (target?.status === "failed" && (!target.platforms?.length || target.platforms.includes(platform)))
    return { status: "failed", text: "build failed", ...(target.error ? { error: platformPart(target.error, platform) } : {}) };
  if (failed) return { status: "failed", text: `${failed.kind} failed`, error: [failed.error, failed.stderrTail].filter(Boolean).join("\n") };
  if (target?.status === "cancelled") return { status: "cancelled", text: `cancelled: ${img?.reason ?? "bake stopped"}` };
  if ([...mine, ...shared].some((s) => s.status === "failed" && !s.targets) || target?.status === "failed")
    return { status: "not-run", text: "not finished: the build failed elsewhere" };
  if (planned?.reuse) return { status: "reused", text: "reused (inputs unchanged)" };
  const test = mine.find((s) => s.kind === "test" && s.platform === platform);
  if (test?.status === "ok") return { status: "tested", text: `built, tested (${secs(test.durationMs)})` };
  if ([...mine, ...shared].some((s) => s.status === "ok") || target?.status === "built") return { status: "built", text: "built" };
  return { status: "not-run", text: "not run" };
}

const CSS = `
:root{--ok:#1a7f37;--bad:#cf222e;--dim:#6e7781;--bg:#f6f8fa;--qemu:#8250df}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1f2328;max-width:1400px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}.sub{color:var(--dim)}
.badge{display:inline-block;padding:2px 10px;border-radius:12px;color:#fff;font-weight:600}.badge.ok{background:var(--ok)}.badge.failed{background:var(--bad)}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #d0d7de;padding:6px 8px;text-align:left;vertical-align:top}th{background:var(--bg)}
td.failed{background:#ffebe9}td.built,td.tested{background:#dafbe1}td.up-to-date,td.reused{background:#eef1f4;color:var(--dim)}td.not-run,td.skipped,td.cancelled{color:var(--dim)}td.skipped,td.cancelled{background:#fff8c5}
pre{white-space:pre-wrap;word-break:break-word;background:#fff8f8;border:1px solid #ffcecb;padding:6px;margin:6px 0 0;font-size:12px;max-height:240px;overflow:auto}
code{font-size:12px}.timeline{position:relative;border-left:1px solid #d0d7de}.row{display:flex;align-items:center;height:20px}
.label{width:320px;flex:none;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;font-size:12px;padding-right:8px}.lane{position:relative;flex:1;height:14px;background:var(--bg)}
.bar{position:absolute;height:14px;border-radius:2px;background:#54aeff}.bar.failed{background:var(--bad)}.bar.qemu{background:var(--qemu)}.bar.not-run{background:none;border:1px dashed var(--dim)}
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}
`;

/** The page. `hostPlatform`: the engine's own platform; other platforms' steps ran under QEMU. */
export function htmlReport(report: Report, plan: Plan, opts: { title: string; hostPlatform?: string; generatedAt?: string }): string {
  const platforms = [...new Set(plan.images.flatMap((i) => i.platforms))];
  const ok = report.exitCode === 0;
  const rows = report.images.map((img) => {
    const cells = platforms.map((p) => {
      if (!img.platforms.includes(p)) return `<td class="not-run">–</td>`;
      const c = cellOf(report, plan, img.name, p);
      return `<td class="${c.status}" data-platform="${esc(p)}"><b>${esc(c.text)}</b>${c.error ? `<pre>${esc(c.error)}</pre>` : ""}</td>`;
    });
    const why = img.notPublished ? `<div class="sub">not published: ${esc(img.notPublished)}</div>` : "";
    return `<tr data-image="${esc(img.name)}"><th>${esc(img.name)}<div class="sub">${esc(img.status)}</div>${why}</th>${cells.join("")}<td><code>${esc(img.digest ?? "–")}</code></td></tr>`;
  });
  const started = Math.min(...report.steps.filter((s) => s.status !== "not-run").map((s) => s.startMs), 0);
  const span = Math.max(1, ...report.steps.map((s) => s.startMs + s.durationMs - started));
  const emulated = (s: Step) => s.platform !== undefined && opts.hostPlatform !== undefined && s.platform !== opts.hostPlatform;
  const bars = report.steps.map((s) => {
    const left = ((s.startMs - started) / span) * 100;
    const width = Math.max(0.3, (s.durationMs / span) * 100);
    const cls = s.status === "failed" ? "failed" : s.status === "not-run" ? "not-run" : emulated(s) ? "qemu" : "";
    const title = `${s.id}: ${s.status}, ${secs(s.durationMs)}${emulated(s) ? " (emulated)" : ""}`;
    return `<div class="row"><div class="label" title="${esc(title)}">${esc(s.id)}</div><div class="lane">${
      s.status === "not-run" ? "" : `<div class="bar ${cls}" style="left:${left.toFixed(2)}%;width:${width.toFixed(2)}%" title="${esc(title)}"></div>`
    }</div></div>`;
  });
  const tags = report.tags.map(
    (t) =>
      `<tr><td>${esc(t.image)}</td><td><code>${esc(t.ref)}</code></td><td>${esc(t.status)}</td><td><code>${esc(t.digest ?? "–")}</code></td><td><code>${esc(
        t.previous === undefined ? "–" : (t.previous ?? "none"),
      )}</code>${t.heldAtStart === undefined ? "" : ` (moved by someone else during the run; at its start: <code>${esc(t.heldAtStart ?? "none")}</code>)`}</td></tr>`,
  );
  const changed = plan.images.filter((i) => i.changed?.length || i.upToDate || i.reuse);
  const changes = changed.map(
    (i) =>
      `<tr><td>${esc(i.name)}</td><td>${esc(i.upToDate ? "nothing: up to date" : i.reuse ? "nothing: reused a published index" : (i.changed ?? []).join(", "))}</td></tr>`,
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(opts.title)}</title><style>${CSS}</style></head><body>
<h1>${esc(opts.title)} <span class="badge ${ok ? "ok" : "failed"}">${ok ? "ok" : `failed (exit ${report.exitCode})`}</span></h1>
<div class="sub">${report.images.length} images × ${platforms.length} platforms · strategy ${esc(plan.strategy.chosen)} · ${secs(report.durationMs)}${
    opts.generatedAt ? ` · ${esc(opts.generatedAt)}` : ""
  }</div>
<h2>Images × platforms</h2>
<table id="matrix"><thead><tr><th>image</th>${platforms.map((p) => `<th>${esc(p)}</th>`).join("")}<th>digest</th></tr></thead><tbody>
${rows.join("\n")}
</tbody></table>
<h2>Timeline</h2>
<div class="legend">steps in the order they ran<span style="background:#54aeff"></span>native<span style="background:var(--qemu)"></span>emulated (QEMU)<span style="background:var(--bad)"></span>failed</div>
<div class="timeline">${bars.join("\n")}</div>
<h2>Tags</h2>
${tags.length ? `<table id="tags"><thead><tr><th>image</th><th>tag</th><th>this run</th><th>digest</th><th>before</th></tr></thead><tbody>${tags.join("\n")}</tbody></table>` : `<p class="sub">no user tag in this run</p>`}
${changes.length ? `<h2>Inputs changed since the last publish</h2><table><thead><tr><th>image</th><th>changed</th></tr></thead><tbody>${changes.join("\n")}</tbody></table>` : ""}
</body></html>
`;
}

/** The markdown appended to $GITHUB_STEP_SUMMARY: the table users see on the run page. */
export function stepSummary(report: Report, plan: Plan, title: string): string {
  // GitHub renders the summary as Markdown: text from the spec or a build is never markup (a RUN could
  // print a link or an image onto the run's page). Plain text is escaped; build output is a code span.
  const cell = (s: string) => s.replace(/[\\`*_[\]<>!|#~]/g, "\\$&").replaceAll("\n", " ");
  const code = (s: string) => {
    const text = s.replaceAll("\n", " ").replaceAll("|", "\\|");
    const fence = "`".repeat(Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length)) + 1);
    return `${fence} ${text} ${fence}`;
  };
  const icon = (status: string) =>
    ["published", "written", "loaded", "verified", "built"].includes(status)
      ? "✅"
      : (({ failed: "❌", cancelled: "⏹️", skipped: "⏭️" } as Record<string, string>)[status] ?? "⏸️");
  const tagsCell = (i: Report["images"][number]) => {
    const { hold, notMoved } = tagsLeft(report, i);
    return [cell(hold.join(" ")), notMoved.length ? `not moved: ${cell(notMoved.join(" "))}` : ""].filter(Boolean).join(" ");
  };
  const lines = [
    `### ${cell(title)}: ${report.exitCode === 0 ? "ok" : `failed (exit ${report.exitCode})`}`,
    "",
    "| image | status | platforms | digest | tags |",
    "|---|---|---|---|---|",
    ...report.images.map(
      (i) =>
        `| ${cell(i.name)} | ${icon(i.status)} ${i.status} | ${i.platforms.join(", ")} | ${i.digest ? `\`${i.digest.slice(0, 19)}\`` : "–"} | ${tagsCell(i)} |`,
    ),
  ];
  // per image why: the failed ones' own errors (a Dockerfile line for a bake) first, then what they held back;
  // a long list (a base that broke holds back every image) names the first ones in full
  const SHOWN = 20;
  const why = report.images.filter((i) => i.reason && i.status !== "not-run").sort((a, b) => Number(b.status === "failed") - Number(a.status === "failed"));
  const owned = new Set(report.images.filter((i) => i.status === "failed").map((i) => i.name));
  const other = report.steps.filter((s) => s.status === "failed" && !(s.image && owned.has(s.image)) && !s.targets?.some((t) => owned.has(t.target)));
  if (why.length || other.length) lines.push("");
  for (const i of why.slice(0, SHOWN)) {
    const [first, ...rest] = i.reason!.trim().split("\n");
    lines.push(`- ${icon(i.status)} **${cell(i.name)}**: ${code(first ?? "")}`);
    // the tail, where BuildKit says what broke; lines cut between it and the first are said to be (one
    // image's failures on several platforms: the first names one, the tail may be another's)
    const cut = rest.length > 12 ? [`… ${rest.length - 12} lines cut: the report (--report, --json) has them all`] : [];
    if (rest.length) lines.push("  ```text", ...[...cut, ...rest.slice(-12)].map((l) => `  ${l.replaceAll("```", "'''")}`), "  ```");
  }
  if (why.length > SHOWN)
    lines.push(
      `- … and ${why.length - SHOWN} more: ${why
        .slice(SHOWN)
        .map((i) => `${cell(i.name)} (${i.status})`)
        .join(", ")}`,
    );
  lines.push(...other.map((s) => `- ❌ ${code(s.id)}: ${code(s.error ?? "failed")}`));
  // as the run's warnings say them (--json: warnings, report.tags[].previous)
  const moves = tagWarnings(report.tags);
  if (moves.length) lines.push("", ...moves.map((w) => `- ⚠️ ${code(w.message)}`));
  lines.push("", `${plan.images.length} images, strategy ${plan.strategy.chosen}, ${secs(report.durationMs)}`, "");
  return `${lines.join("\n")}\n`;
}
