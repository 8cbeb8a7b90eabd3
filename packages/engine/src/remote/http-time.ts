/**
 * Go's http.ParseTime: a Last-Modified value in one of the three formats HTTP/1.1 allows (RFC 1123
 * "Mon, 02 Jan 2006 15:04:05 GMT", RFC 850 "Monday, 02-Jan-06 15:04:05 GMT", ANSI C "Mon Jan  2
 * 15:04:05 2006"), read as UTC; anything else is no time (BuildKit then dates the file at the epoch).
 */
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAY = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)";
const LONG_DAY = "(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)";
const MON = `(${MONTHS.join("|")})`;
const CLOCK = "(\\d{1,2}):(\\d{2}):(\\d{2})";
const RFC1123 = new RegExp(`^${DAY}, (\\d{2}) ${MON} (\\d{4}) ${CLOCK} GMT$`);
// Go reads any zone abbreviation it does not know as a zero offset
const RFC850 = new RegExp(`^${LONG_DAY}, (\\d{2})-${MON}-(\\d{2}) ${CLOCK} [A-Z]{3,5}$`);
const ANSIC = new RegExp(`^${DAY} ${MON} ([ \\d]\\d) ${CLOCK} (\\d{4})$`);

function utc(year: number, month: string, day: number, h: string, m: string, s: string): Date | undefined {
  const mon = MONTHS.indexOf(month);
  const [hh, mm, ss] = [Number(h), Number(m), Number(s)];
  if (hh > 23 || mm > 59 || ss > 59 || day < 1) return undefined;
  const d = new Date(Date.UTC(year, mon, day, hh, mm, ss));
  if (year < 100) d.setUTCFullYear(year);
  return d.getUTCMonth() === mon && d.getUTCDate() === day ? d : undefined; // "day out of range" for Go
}

export function parseHttpTime(value: string): Date | undefined {
  let m = RFC1123.exec(value);
  if (m) return utc(Number(m[3]), m[2] as string, Number(m[1]), m[4] as string, m[5] as string, m[6] as string);
  m = RFC850.exec(value);
  if (m) {
    const yy = Number(m[3]);
    return utc(yy >= 69 ? 1900 + yy : 2000 + yy, m[2] as string, Number(m[1]), m[4] as string, m[5] as string, m[6] as string);
  }
  m = ANSIC.exec(value);
  if (m) return utc(Number(m[6]), m[1] as string, Number((m[2] as string).trim()), m[3] as string, m[4] as string, m[5] as string);
  return undefined;
}
