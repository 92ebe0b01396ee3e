import { randomUUID } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestServer, startTestServer } from '../support/test-server.js';
import { launchBrowser, makePng, screenshot, watchConsole } from './browser.js';

/**
 * The console's journeys in a real browser (Debian's Chromium through playwright-core) against the real
 * server on a fresh database, serving the built console (web/dist) at `/`. One story, step by step: a
 * customer recharges, sees a failure explained, applies for a refund with a screenshot; an agent asks for
 * information, the customer answers, the agent approves, and the refund reaches the customer's account.
 */
describe.sequential('web console in Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  let customerContext: BrowserContext;
  let customer: Page;
  let customerConsole: ReturnType<typeof watchConsole>;
  let staffContext: BrowserContext;
  let staff: Page;
  let staffConsole: ReturnType<typeof watchConsole>;
  const email = `web-${randomUUID().slice(0, 8)}@example.com`;
  const agentEmail = `agent-${randomUUID().slice(0, 8)}@topup.test`;
  let rechargeId = '';
  let refundId = '';

  /** A main page has rendered with no console errors. */
  function expectClean(watch: ReturnType<typeof watchConsole>, where: string) {
    expect(watch.take(), `console errors on ${where}`).toEqual([]);
  }

  beforeAll(async () => {
    server = await startTestServer({ env: { TOPUP_RECHARGE_RATE_PER_MIN: '1000' } });
    const admin = await server.adminToken();
    const created = await server.http.post('/v1/admin/staff', { email: agentEmail, password: 'agent-pass-123', role: 'cs_agent' }, { token: admin });
    expect(created.status, created.text).toBe(201);
    browser = await launchBrowser();
    customerContext = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    customer = await customerContext.newPage();
    customerConsole = watchConsole(customer);
    staffContext = await browser.newContext({ viewport: { width: 1360, height: 900 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    staff = await staffContext.newPage();
    staffConsole = watchConsole(staff);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('serves the console at / and keeps unknown /v1 paths as 404 problems', async () => {
    const page = await server.http.get('/recharges');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const api = await server.http.get('/v1/no-such-thing');
    expect(api.status).toBe(404);
    expect(api.body.code).toBe('NOT_FOUND');
  });

  it('a customer signs up and lands on the portal home', async () => {
    await customer.goto(`${server.url}/`);
    await customer.waitForURL('**/login');
    await customer.getByText('还没有账号?立即注册').click();
    await customer.getByTestId('email').fill(email);
    await customer.getByTestId('password').fill('customer-pass-1');
    await customer.getByTestId('submit').click();
    await customer.getByTestId('balance-card').waitFor();
    await expect.poll(() => customer.getByTestId('balance-available').textContent()).toContain('¥0.00');
    await screenshot(customer, 'portal-home-empty');
    expectClean(customerConsole, 'home');
  });

  it('recharges ¥100.00 by bank card, validating the card as it is typed', async () => {
    await customer.getByTestId('quick-10000').click();
    await customer.waitForURL('**/recharge?amount=10000');
    await expect.poll(() => customer.getByTestId('amount').inputValue()).toBe('100.00');
    // Luhn and MM/YY are checked while typing, before anything is sent.
    await customer.getByTestId('card-number').fill('6222020000000001');
    await customer.getByText('卡号格式或校验位不正确,请核对').waitFor();
    await customer.getByTestId('card-number').fill('6222020000000007');
    await expect.poll(() => customer.getByTestId('card-number').inputValue()).toBe('6222 0200 0000 0007');
    await customer.getByTestId('expiry').fill('01/20');
    await customer.getByText('这张卡已过期').waitFor();
    await customer.getByTestId('expiry').fill('12/39');
    await customer.getByTestId('cvv').fill('123');
    await customer.getByTestId('holder').fill('张三');
    await customer.getByTestId('recharge-submit').click();
    await customer.getByTestId('recharge-succeeded').waitFor();
    await expect.poll(() => customer.getByTestId('recharge-succeeded').textContent()).toContain('¥100.00');
    await screenshot(customer, 'recharge-succeeded');
    expectClean(customerConsole, 'recharge');
  });

  it('sees a failed recharge explained: INSUFFICIENT_FUNDS with its message and next steps', async () => {
    await customer.getByRole('button', { name: '再充一笔' }).click();
    await customer.getByTestId('amount').fill('66.04');
    await customer.getByTestId('card-number').fill('6222020000000007');
    await customer.getByTestId('expiry').fill('12/39');
    await customer.getByTestId('cvv').fill('123');
    await customer.getByTestId('recharge-submit').click();
    const failed = customer.getByTestId('recharge-failed');
    await failed.waitFor();
    expect(await failed.getAttribute('data-code')).toBe('INSUFFICIENT_FUNDS');
    expect(await customer.getByTestId('failure-message').textContent()).toContain('付款账户余额不足,请充值付款账户或更换支付方式。');
    // Next steps: other methods that work now, and a ticket.
    await customer.getByTestId('use-alipay').waitFor();
    await customer.getByTestId('open-ticket').waitFor();
    await screenshot(customer, 'recharge-failed');
    expectClean(customerConsole, 'recharge failure');
  });

  it('我的充值 lists both, filters by status, and shows a recharge with its attempts', async () => {
    await customer.goto(`${server.url}/recharges`);
    const rows = customer.locator('[data-testid="recharge-table"] tbody tr.ant-table-row');
    await expect.poll(() => rows.count()).toBe(2);
    await screenshot(customer, 'recharges');
    await customer.getByTestId('filter-status').click();
    await customer.locator('.ant-select-item-option').filter({ hasText: '失败' }).click();
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().textContent()).toContain('INSUFFICIENT_FUNDS');
    await customer.getByTestId('filter-status').locator('.ant-select-clear').click({ force: true });
    await expect.poll(() => rows.count()).toBe(2);
    // The succeeded one (oldest, last row).
    await rows.last().locator('a').first().click();
    await customer.getByTestId('recharge-detail').waitFor();
    rechargeId = customer.url().split('/').pop() ?? '';
    expect(rechargeId).toMatch(/^rch_/);
    await customer.locator('[data-testid="attempts"] tbody tr.ant-table-row').first().waitFor();
    await screenshot(customer, 'recharge-detail');
    expectClean(customerConsole, 'recharges');
  });

  it('applies for a refund with reason, amount, paid time, serial number and an uploaded image (previewed)', async () => {
    await customer.getByTestId('apply-refund').click();
    await customer.getByTestId('refund-form').waitFor();
    await customer.getByTestId('refund-amount').fill('50.00');
    await customer.getByTestId('refund-paid-at').click();
    await customer.keyboard.type('2026-11-20 10:30:00');
    // Confirm with the picker's own OK (Enter would submit the whole form).
    await customer.locator('.ant-picker-ok button').click();
    await expect.poll(() => customer.getByTestId('refund-form').locator('.ant-picker input').inputValue()).toBe('2026-11-20 10:30:00');
    await customer.getByTestId('refund-txn').fill('TXN20261120103000');
    await customer.getByTestId('refund-description').fill('余额暂时用不上,申请退回一半。');
    await customer.locator('input[type=file]').setInputFiles({ name: 'payment.png', mimeType: 'image/png', buffer: makePng() });
    await customer.locator('.ant-upload-list-item-done').waitFor();
    await customer.locator('.ant-upload-list-item-done img').waitFor();
    await customer.locator('.ant-upload-list-item-actions a, .ant-upload-list-item-actions button').first().click();
    await customer.getByTestId('evidence-preview').waitFor();
    await screenshot(customer, 'refund-apply-preview');
    await customer.keyboard.press('Escape');
    await customer.getByTestId('evidence-preview').waitFor({ state: 'hidden' });
    await screenshot(customer, 'refund-apply');
    await customer.getByTestId('refund-submit').click();
    await customer.waitForURL('**/refunds/rfd_*');
    refundId = customer.url().split('/').pop() ?? '';
    await expect.poll(() => customer.getByTestId('refund-detail').getAttribute('data-status')).toBe('submitted');
    await customer.getByTestId('refund-timeline').waitFor();
    await screenshot(customer, 'refund-submitted');
    expectClean(customerConsole, 'refund application');
  });

  it('an agent signs in to the review queue, sorted by SLA with a countdown', async () => {
    await staff.goto(`${server.url}/login`);
    await staff.getByTestId('email').fill(agentEmail);
    await staff.getByTestId('password').fill('agent-pass-123');
    await staff.getByTestId('submit').click();
    await staff.waitForURL('**/staff/refunds');
    const row = staff.locator('[data-testid="queue-table"] tbody tr.ant-table-row').filter({ hasText: refundId });
    await row.waitFor();
    await row.getByTestId('sla-left').waitFor();
    await screenshot(staff, 'staff-queue');
    expectClean(staffConsole, 'review queue');
    await row.getByTestId('queue-link').click();
    await staff.getByTestId('review-detail').waitFor();
    await staff.getByTestId('check').first().waitFor();
    await staff.locator('[data-testid="evidence-item"] img').waitFor();
    await staff.getByTestId('customer-history').getByText(email).waitFor();
    await screenshot(staff, 'staff-review');
    expectClean(staffConsole, 'refund review');
  });

  it('the agent claims it and asks the customer for more information', async () => {
    await staff.getByTestId('action-claim').click();
    await expect.poll(() => staff.getByTestId('review-detail').getAttribute('data-status')).toBe('under_review');
    await staff.getByTestId('action-requestInfo').click();
    await staff.getByTestId('action-message').fill('请提供银行卡扣款短信截图。');
    await staff.getByTestId('action-confirm').click();
    await expect.poll(() => staff.getByTestId('review-detail').getAttribute('data-status')).toBe('info_requested');
    expectClean(staffConsole, 'request info');
  });

  it('the customer sees the request and replies', async () => {
    await customer.reload();
    await customer.getByTestId('info-request').waitFor();
    expect(await customer.getByTestId('info-request-note').textContent()).toContain('请提供银行卡扣款短信截图。');
    await screenshot(customer, 'refund-info-requested');
    await customer.getByTestId('reply-message').fill('短信截图已补充,请查收。');
    await customer.getByTestId('reply-submit').click();
    await expect.poll(() => customer.getByTestId('refund-detail').getAttribute('data-status')).toBe('under_review');
    expectClean(customerConsole, 'reply');
  });

  it('the agent approves it back to the original payment method', async () => {
    await staff.reload();
    await expect.poll(() => staff.getByTestId('review-detail').getAttribute('data-status')).toBe('under_review');
    await staff.getByTestId('action-approve').click();
    await staff.getByTestId('action-note').fill('核实无误');
    await staff.getByTestId('action-confirm').click();
    await expect
      .poll(() => staff.getByTestId('review-detail').getAttribute('data-status'))
      .toMatch(/^(approved|processing)$/);
    expectClean(staffConsole, 'approve');
  });

  it('once the card refund settles (sandbox clock), the customer sees it succeeded with its timeline', async () => {
    const token = (await server.http.post('/v1/auth/login', { email, password: 'customer-pass-1' })).body.token as string;
    // The payout goes to the channel first; then three days of service clock settle a card refund.
    await expect
      .poll(async () => (await server.http.get(`/v1/refunds/${refundId}`, { token })).body.status, { timeout: 30_000 })
      .toBe('processing');
    await server.advance(4 * 86_400);
    await expect
      .poll(async () => (await server.http.get(`/v1/refunds/${refundId}`, { token })).body.status, { timeout: 30_000 })
      .toBe('succeeded');
    await customer.reload();
    await expect.poll(() => customer.getByTestId('refund-detail').getAttribute('data-status')).toBe('succeeded');
    const statuses = await customer.getByTestId('timeline-event').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-status')));
    expect(statuses).toEqual(['submitted', 'under_review', 'info_requested', 'under_review', 'approved', 'processing', 'succeeded']);
    expect(await customer.getByTestId('refund-steps').getAttribute('data-status')).toBe('succeeded');
    await screenshot(customer, 'refund-succeeded');
    expectClean(customerConsole, 'refund succeeded');
  });

  it('the portal home, statement and notifications show the money and what the customer was told', async () => {
    await customer.goto(`${server.url}/`);
    await expect.poll(() => customer.getByTestId('balance-available').textContent()).toContain('¥50.00');
    await screenshot(customer, 'portal-home');
    expectClean(customerConsole, 'home');
    await customer.goto(`${server.url}/statement`);
    await customer.locator('[data-testid="statement-table"] tbody tr.ant-table-row').first().waitFor();
    await screenshot(customer, 'statement');
    expectClean(customerConsole, 'statement');
    await customer.goto(`${server.url}/notifications`);
    await customer.locator('[data-testid="notification"], [data-testid="empty"]').first().waitFor();
    await screenshot(customer, 'notifications');
    expectClean(customerConsole, 'notifications');
  });

  it('the language switch changes the UI text, is remembered, and API messages follow it', async () => {
    await customer.goto(`${server.url}/`);
    await customer.getByText('可用余额', { exact: true }).waitFor();
    await customer.getByTestId('lang-switch').click();
    await customer.getByText('Available balance', { exact: true }).waitFor();
    await customer.getByRole('link', { name: 'My recharges' }).waitFor();
    await customer.reload();
    await customer.getByText('Available balance', { exact: true }).waitFor();
    await screenshot(customer, 'portal-home-en');
    // Server-side texts come in the same language (Accept-Language).
    await customer.goto(`${server.url}/recharges`);
    await customer.locator('[data-testid="recharge-table"] tbody tr.ant-table-row').first().locator('a').first().click();
    await customer.getByTestId('failure-message').waitFor();
    expect(await customer.getByTestId('failure-message').textContent()).toContain('The paying account does not have enough funds');
    await customer.getByTestId('lang-switch').click();
    await customer.getByText('失败原因', { exact: false }).first().waitFor();
    expectClean(customerConsole, 'language switch');
  });

  it('works on a phone-sized screen', async () => {
    const phone = await customerContext.newPage();
    const phoneConsole = watchConsole(phone);
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(`${server.url}/`);
    await phone.getByTestId('balance-card').waitFor();
    await screenshot(phone, 'phone-home');
    await phone.getByTestId('menu-button').click();
    await phone.getByRole('link', { name: '充值', exact: true }).click();
    await phone.getByTestId('recharge-form').waitFor();
    await screenshot(phone, 'phone-recharge');
    expectClean(phoneConsole, 'phone');
    await phone.close();
  });

  it('an admin sees the dashboard charts, providers with maintenance, and the audit trail', async () => {
    const adminContext = await browser.newContext({ viewport: { width: 1360, height: 900 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    const admin = await adminContext.newPage();
    const adminConsole = watchConsole(admin);
    await admin.goto(`${server.url}/login`);
    await admin.getByTestId('email').fill('admin@topup.test');
    await admin.getByTestId('password').fill('admin-password-1');
    await admin.getByTestId('submit').click();
    await admin.waitForURL('**/staff/refunds');
    await admin.goto(`${server.url}/staff/dashboard`);
    await admin.locator('[data-testid="chart-success-rate"] .recharts-surface').first().waitFor();
    await admin.locator('[data-testid="chart-failures-code"] .recharts-surface').first().waitFor();
    await screenshot(admin, 'staff-dashboard');
    expectClean(adminConsole, 'dashboard');

    await admin.goto(`${server.url}/staff/providers`);
    await admin.getByTestId('start-maintenance-sandbox_wechat').click();
    await admin.locator('.ant-modal textarea').fill('微信支付通道升级,预计 1 小时');
    await admin.getByRole('button', { name: '确 定' }).or(admin.getByRole('button', { name: '确定' })).click();
    await expect.poll(() => admin.getByTestId('provider-state-sandbox_wechat').textContent()).toBe('维护中');
    await screenshot(admin, 'staff-providers');
    expectClean(adminConsole, 'providers');

    // The customer's portal shows the maintenance banner from /v1/status.
    await customer.goto(`${server.url}/recharge`);
    await customer.getByTestId('status-banner').waitFor();
    expect(await customer.getByTestId('status-banner').textContent()).toContain('微信支付');
    await screenshot(customer, 'portal-maintenance-banner');
    expectClean(customerConsole, 'maintenance banner');

    await admin.goto(`${server.url}/staff/audit`);
    await admin.locator('[data-testid="audit-table"] tbody tr.ant-table-row').first().waitFor();
    await screenshot(admin, 'staff-audit');
    expectClean(adminConsole, 'audit');
    await adminContext.close();
  });
});
