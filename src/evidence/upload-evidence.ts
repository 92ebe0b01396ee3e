import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileTypeFromBuffer } from 'file-type';
import type { Context } from '../context.js';
import { AppError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import type { EvidenceTable } from '../store/schema.js';
import { stripJpeg, stripPng } from './strip-metadata.js';

export const MAX_EVIDENCE_BYTES = 5 * 1024 * 1024;
const ALLOWED: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpg', 'application/pdf': 'pdf' };

export function evidenceDir(ctx: Context): string {
  return path.join(ctx.config.dataDir, 'evidence');
}

/** A display name only: never used as a path. Control characters and path parts are dropped. */
export function displayName(raw: string | undefined, extension: string): string {
  const base = (raw ?? '').split(/[\\/]/).pop() ?? '';
  const clean = [...base]
    .filter((ch) => ch.charCodeAt(0) >= 0x20 && ch.charCodeAt(0) !== 0x7f)
    .join('')
    .replace(/^\.+/, '')
    .trim()
    .slice(0, 100);
  return clean.length > 0 ? clean : `evidence.${extension}`;
}

/**
 * Stores a payment screenshot or statement. The type is decided by the content's magic
 * bytes, not the name or the declared type; the stored name is generated, so nothing the
 * client sent reaches the filesystem. Images lose their metadata (EXIF/GPS) on the way in.
 */
export async function uploadEvidence(
  ctx: Context,
  input: { customerId: string; filename: string | undefined; content: Buffer },
): Promise<EvidenceTable> {
  if (input.content.length === 0) {
    throw new AppError('VALIDATION_FAILED', 'the file is empty', { errors: [{ field: 'file', message: 'is empty' }] });
  }
  if (input.content.length > MAX_EVIDENCE_BYTES) throw new AppError('FILE_TOO_LARGE', 'evidence files are limited to 5 MB');
  const detected = await fileTypeFromBuffer(input.content);
  const extension = detected ? ALLOWED[detected.mime] : undefined;
  if (!detected || !extension) throw new AppError('FILE_TYPE_NOT_ALLOWED', 'only PNG, JPEG and PDF files are accepted');
  const content =
    detected.mime === 'image/jpeg' ? stripJpeg(input.content) : detected.mime === 'image/png' ? stripPng(input.content) : input.content;

  const now = ctx.clock.now();
  const id = newId('evd', now.getTime());
  const storageName = `${id}.${extension}`;
  await fs.mkdir(evidenceDir(ctx), { recursive: true });
  await fs.writeFile(path.join(evidenceDir(ctx), storageName), content, { flag: 'wx', mode: 0o600 });
  const row: EvidenceTable = {
    id,
    customer_id: input.customerId,
    refund_id: null,
    filename: displayName(input.filename, extension),
    size: content.length,
    content_type: detected.mime,
    sha256: createHash('sha256').update(content).digest('hex'),
    storage_name: storageName,
    created_at: now.toISOString(),
  };
  try {
    await ctx.store.db.insertInto('evidence').values(row).execute();
  } catch (error) {
    await fs.rm(path.join(evidenceDir(ctx), storageName), { force: true });
    throw error;
  }
  return row;
}

export function toEvidenceView(row: EvidenceTable) {
  return { id: row.id, filename: row.filename, size: row.size, content_type: row.content_type, created_at: row.created_at };
}
