import type { InvariantCheck } from '../ledger/verify.js';
import { rechargeChecks } from '../recharges/invariants.js';

/** Every capability's invariants beyond the ledger's own; `topup verify` and the tests run them all. */
export const INVARIANT_CHECKS: InvariantCheck[] = [...rechargeChecks];
