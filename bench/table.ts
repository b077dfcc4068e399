/**
 * The one table the bench prints: each figure, the figure it is compared with in the same run, the ratio, the
 * target, and whether it was met. Markdown, so a run pastes into the README as it is.
 */
export type Verdict = 'met' | 'not met' | 'n/a' | 'skipped' | 'failed';

export interface Row {
  figure: string;
  measured: string;
  comparedWith: string;
  ratio: string;
  target: string;
  result: Verdict;
}

const NONE = '—';

export const verdict = (ok: boolean): Verdict => (ok ? 'met' : 'not met');

/** A measured figure without a baseline (ratio and comparison print as —). */
export function row(figure: string, measured: string, target: string, result: Verdict): Row {
  return { figure, measured, comparedWith: NONE, ratio: NONE, target, result };
}

/** A figure against its same-run baseline: the ratio is measured / baseline, met when it is at least `minRatio`. */
export function ratioRow(
  figure: string,
  measured: string,
  value: number,
  comparedWith: string,
  baseline: number,
  minRatio: number,
): Row {
  return againstBaseline(figure, measured, value / baseline, comparedWith, '≥', minRatio);
}

/** A cost against its same-run baseline: the ratio is measured / baseline, met when it is at most `maxRatio`. */
export function maxRatioRow(
  figure: string,
  measured: string,
  value: number,
  comparedWith: string,
  baseline: number,
  maxRatio: number,
): Row {
  return againstBaseline(figure, measured, value / baseline, comparedWith, '≤', maxRatio);
}

function againstBaseline(
  figure: string,
  measured: string,
  ratio: number,
  comparedWith: string,
  sign: '≥' | '≤',
  bound: number,
): Row {
  const known = Number.isFinite(ratio);
  return {
    figure,
    measured,
    comparedWith,
    ratio: known ? `${ratio.toFixed(3)}×` : NONE,
    target: `${sign} ${bound.toFixed(2)}×`,
    result: known ? verdict(sign === '≥' ? ratio >= bound : ratio <= bound) : 'n/a',
  };
}

/** Rows of a part that could not run (skipped) or broke (failed): the reason goes where the figure would. */
export function unmeasured(
  figures: ReadonlyArray<{ figure: string; target: string }>,
  result: 'skipped' | 'failed',
  reason: string,
): Row[] {
  // One line, short: the whole reason is in the progress output on stderr.
  const said = reason.replaceAll(/\s+/g, ' ').replaceAll('|', '/');
  const short = said.length > 160 ? `${said.slice(0, 157)}...` : said;
  return figures.map(({ figure, target }) => row(figure, `${result}: ${short}`, target, result));
}

export function renderTable(rows: readonly Row[]): string {
  const header: Row = {
    figure: 'figure',
    measured: 'measured',
    comparedWith: 'compared with (same run)',
    ratio: 'ratio',
    target: 'target',
    result: 'met',
  };
  const cells = (r: Row): string[] => [
    r.figure,
    r.measured,
    r.comparedWith,
    r.ratio,
    r.target,
    r === header ? 'result' : r.result,
  ];
  const all = [header, ...rows].map(cells);
  const widths = all[0]!.map((_, i) => Math.max(...all.map((c) => c[i]!.length)));
  const line = (c: string[]): string => `| ${c.map((text, i) => text.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(all[0]!), line(widths.map((w) => '-'.repeat(w))), ...all.slice(1).map(line)].join('\n');
}
