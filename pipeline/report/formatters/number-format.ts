/** 87.5 -> "87.5%", 100 -> "100%", null -> "n/a": up to two decimals, no trailing zeros. */
export function formatPercent(value: number | null): string {
  return value === null ? 'n/a' : `${trim(value)}%`;
}

/** Percentage points with a sign: "+12.5 pp", "-3 pp", "0 pp", null -> "n/a". */
export function formatChange(value: number | null): string {
  if (value === null) return 'n/a';
  return `${value > 0 ? '+' : ''}${trim(value)} pp`;
}

export function formatHours(value: number | null): string {
  return value === null ? 'n/a' : `${trim(value)} h`;
}

function trim(value: number): string {
  return String(Number(value.toFixed(2)));
}
