/** Mainland mobile numbers (13800138000) and E.164 (+8613800138000): the formats registration accepts. */
const MAINLAND = /^1[3-9]\d{9}$/;
const E164 = /^\+[1-9]\d{6,14}$/;

export function isValidPhone(phone: string): boolean {
  return MAINLAND.test(phone) || E164.test(phone);
}

/**
 * The number as Alibaba Cloud SMS wants it: mainland numbers bare (`+86` dropped), others as
 * country code and number without the plus. Null when it is not a valid number.
 */
export function toAliyunNumber(phone: string): string | null {
  if (MAINLAND.test(phone)) return phone;
  if (!E164.test(phone)) return null;
  const digits = phone.slice(1);
  if (digits.startsWith('86') && MAINLAND.test(digits.slice(2))) return digits.slice(2);
  return digits;
}
