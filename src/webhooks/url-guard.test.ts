import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { postWebhook } from './post-webhook.js';
import { isPublicAddress, refuseWebhookUrl } from './url-guard.js';

describe('isPublicAddress', () => {
  it('refuses loopback, private, CGNAT, link-local, unspecified, documentation, multicast and mapped addresses', () => {
    for (const address of [
      '127.0.0.1',
      '127.255.255.254',
      '10.0.0.1',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.0.1',
      '100.64.0.1',
      '169.254.169.254',
      '0.0.0.0',
      '192.0.2.1',
      '198.18.0.1',
      '224.0.0.1',
      '255.255.255.255',
      '::',
      '::1',
      'fe80::1',
      'fc00::1',
      'fd12:3456::1',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::ffff:10.0.0.1',
      '64:ff9b::a00:1',
      '2001:db8::1',
      'not-an-ip',
    ]) {
      expect(isPublicAddress(address), address).toBe(false);
    }
  });

  it('accepts public IPv4 and IPv6 addresses', () => {
    for (const address of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8']) {
      expect(isPublicAddress(address), address).toBe(true);
    }
  });
});

describe('refuseWebhookUrl', () => {
  const lookup = (answers: Record<string, string[]>) => async (host: string) => {
    const found = answers[host];
    if (!found) throw new Error('ENOTFOUND');
    return found;
  };

  it('accepts http(s) URLs whose host resolves only to public addresses', async () => {
    const options = { allowPrivate: false, lookup: lookup({ 'hooks.example.com': ['93.184.216.34', '2606:2800:220:1::1'] }) };
    expect(await refuseWebhookUrl('https://hooks.example.com/topup', options)).toBeNull();
    expect(await refuseWebhookUrl('http://93.184.216.34:8080/topup', options)).toBeNull();
  });

  it('refuses a host name resolving (even partly) to a private address, or not resolving', async () => {
    const options = {
      allowPrivate: false,
      lookup: lookup({ 'rebind.example.com': ['93.184.216.34', '10.1.2.3'], 'internal.corp': ['192.168.3.4'] }),
    };
    expect(await refuseWebhookUrl('https://rebind.example.com/x', options)).toMatch(/private/);
    expect(await refuseWebhookUrl('https://internal.corp/x', options)).toMatch(/private/);
    expect(await refuseWebhookUrl('https://nowhere.invalid/x', options)).toBe('host name does not resolve');
  });

  it('refuses other schemes and credentials even in the sandbox, where private targets are allowed', async () => {
    const sandbox = { allowPrivate: true };
    expect(await refuseWebhookUrl('http://127.0.0.1:9999/x', sandbox)).toBeNull();
    expect(await refuseWebhookUrl('file:///etc/passwd', sandbox)).toMatch(/http/);
    expect(await refuseWebhookUrl('javascript:alert(1)', sandbox)).toMatch(/http/);
    expect(await refuseWebhookUrl('http://a:b@127.0.0.1/x', sandbox)).toMatch(/credentials/);
    expect(await refuseWebhookUrl('::::', sandbox)).toBe('is not a valid URL');
  });
});

describe('postWebhook outside the sandbox', () => {
  it('will not connect to a non-public address at send time, by literal or by name', async () => {
    let hits = 0;
    const server = http.createServer((_req, res) => {
      hits++;
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const { port } = server.address() as AddressInfo;
    try {
      const literal = await postWebhook(`http://127.0.0.1:${port}/x`, {}, '{}', { allowPrivate: false });
      expect(literal).toMatchObject({ ok: false, status: null });
      const named = await postWebhook(`http://localhost:${port}/x`, {}, '{}', { allowPrivate: false });
      expect(named).toMatchObject({ ok: false, status: null });
      expect(named.ok ? '' : named.error).toContain('refused');
      expect(hits).toBe(0);
      // The sandbox may reach it.
      expect(await postWebhook(`http://localhost:${port}/x`, {}, '{}', { allowPrivate: true })).toEqual({ ok: true, status: 200 });
      expect(hits).toBe(1);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('gives up after the timeout', async () => {
    const server = http.createServer(() => {
      // never answers
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const { port } = server.address() as AddressInfo;
    try {
      const started = Date.now();
      const result = await postWebhook(`http://127.0.0.1:${port}/slow`, {}, '{}', { allowPrivate: true, timeoutMs: 300 });
      expect(result).toMatchObject({ ok: false, status: null, error: 'timed out after 300 ms' });
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
