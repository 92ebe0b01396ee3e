import { parseArgs } from 'node:util';
import { chaosOptions, formatReport, runChaos } from './run-chaos.js';

/**
 * `npm run chaos [-- --long] [--seed N] [--seconds N] [--customers N]`: one chaos run on the
 * dialect DATABASE_URL selects (SQLite without it; PostgreSQL with 3 API and 2 worker processes
 * and Redis with it). Short and seeded (42) by default, as CI runs it; `--long` (or CHAOS_LONG=1)
 * runs ten minutes with a fresh seed. Exit 1 on any violation; the seed is printed to replay it.
 */
const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    long: { type: 'boolean' },
    seed: { type: 'string' },
    seconds: { type: 'string' },
    customers: { type: 'string' },
  },
});
const env = { ...process.env };
if (values.long) env.CHAOS_LONG = '1';
if (values.seed) env.CHAOS_SEED = values.seed;
if (values.seconds) env.CHAOS_SECONDS = values.seconds;
if (values.customers) env.CHAOS_CUSTOMERS = values.customers;

const report = await runChaos(chaosOptions(env, (line) => console.log(line)));
console.log(formatReport(report));
const failed = report.checks.violations.length > 0 || report.problems.length > 0 || report.verify.code !== 0;
console.log(failed ? 'chaos: FAILED' : 'chaos: clean');
process.exit(failed ? 1 : 0);
