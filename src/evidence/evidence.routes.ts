import fs from 'node:fs/promises';
import path from 'node:path';
import multipart from '@fastify/multipart';
import { Type } from 'typebox';
import type { Context } from '../context.js';
import { AppError } from '../domain/errors.js';
import type { App } from '../http/app.js';
import { problems, Timestamp } from '../http/schemas.js';
import { evidenceDir, MAX_EVIDENCE_BYTES, toEvidenceView, uploadEvidence } from './upload-evidence.js';

const Evidence = Type.Object({
  id: Type.String(),
  filename: Type.String(),
  size: Type.Integer(),
  content_type: Type.String(),
  created_at: Timestamp,
});

export function evidenceRoutes(ctx: Context) {
  async function visible(id: string, actor: { id: string; role: string } | null) {
    if (!actor) throw new AppError('UNAUTHENTICATED');
    const row = await ctx.store.db.selectFrom('evidence').selectAll().where('id', '=', id).executeTakeFirst();
    // Readable by its owner and by staff; anyone else is told it does not exist.
    if (!row || (actor.role === 'customer' && row.customer_id !== actor.id)) throw new AppError('NOT_FOUND', 'no such evidence');
    return row;
  }

  return (app: App) => {
    void app.register((scoped, _options, done) => {
      void scoped.register(multipart, {
        limits: { fileSize: MAX_EVIDENCE_BYTES + 1, files: 1, fields: 5, parts: 6 },
        throwFileSizeLimit: true,
      });
      scoped.post(
        '/v1/evidence',
        {
          config: { auth: ['customer'] },
          schema: {
            tags: ['refunds'],
            description: 'Upload a payment screenshot or statement (multipart field `file`): PNG, JPEG or PDF by content, at most 5 MB.',
            consumes: ['multipart/form-data'],
            response: { 201: Evidence, ...problems('FILE_TYPE_NOT_ALLOWED', 'FILE_TOO_LARGE', 'UNAUTHENTICATED', 'FORBIDDEN') },
          },
        },
        async (request, reply) => {
          const actor = request.actor;
          if (!actor) throw new AppError('UNAUTHENTICATED');
          if (!request.isMultipart()) {
            throw new AppError('VALIDATION_FAILED', 'send the file as multipart/form-data field `file`', {
              errors: [{ field: 'file', message: 'is required' }],
            });
          }
          const file = await request.file();
          if (!file || file.fieldname !== 'file') {
            throw new AppError('VALIDATION_FAILED', 'send the file in the multipart field `file`', {
              errors: [{ field: 'file', message: 'is required' }],
            });
          }
          let content: Buffer;
          try {
            content = await file.toBuffer();
          } catch (error) {
            if ((error as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE')
              throw new AppError('FILE_TOO_LARGE', 'evidence files are limited to 5 MB');
            throw error;
          }
          const row = await uploadEvidence(ctx, { customerId: actor.id, filename: file.filename, content });
          return reply.code(201).send(toEvidenceView(row));
        },
      );
      done();
    });

    app.get(
      '/v1/evidence/:id',
      {
        config: { auth: ['customer', 'cs_agent', 'finance'] },
        schema: {
          tags: ['refunds'],
          params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
          response: { 200: Evidence, ...problems('NOT_FOUND', 'UNAUTHENTICATED') },
        },
      },
      async (request) => toEvidenceView(await visible(request.params.id, request.actor)),
    );

    app.get(
      '/v1/evidence/:id/content',
      {
        config: { auth: ['customer', 'cs_agent', 'finance'] },
        schema: {
          tags: ['refunds'],
          description: 'The file itself, for its owner and staff.',
          params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
          produces: ['image/png', 'image/jpeg', 'application/pdf'],
          response: { 200: Type.Unsafe({ type: 'string', format: 'binary' }), ...problems('NOT_FOUND', 'UNAUTHENTICATED') },
        },
      },
      async (request, reply) => {
        const row = await visible(request.params.id, request.actor);
        const content = await fs.readFile(path.join(evidenceDir(ctx), row.storage_name));
        return reply
          .type(row.content_type)
          .header('content-disposition', `inline; filename="${row.id}.${row.storage_name.split('.').pop()}"`)
          .header('x-content-type-options', 'nosniff')
          .header('cache-control', 'private, no-store')
          .send(content);
      },
    );
  };
}
