import { FilePdfOutlined, PlusOutlined } from '@ant-design/icons';
import { Modal, Upload, type UploadFile } from 'antd';
import { useEffect, useState } from 'react';
import { sendForm } from '../api/client';
import type { Evidence } from '../api/types';
import { useI18n } from '../i18n/context';
import { ErrorAlert } from './feedback';

const ALLOWED = ['image/png', 'image/jpeg', 'application/pdf'];
const MAX_BYTES = 5 * 1024 * 1024;

/**
 * Uploads each chosen file to `POST /v1/evidence` at once (multipart field `file`) and reports the ids of
 * the uploaded ones. Images show as thumbnails and open in a preview; the server re-checks type by content.
 */
export function EvidenceUpload({ onChange }: { onChange: (ids: string[]) => void }) {
  const { t } = useI18n();
  const [files, setFiles] = useState<UploadFile<Evidence>[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [preview, setPreview] = useState<{ url: string; name: string } | null>(null);

  useEffect(() => {
    onChange(files.filter((f) => f.status === 'done' && f.response).map((f) => f.response?.id ?? ''));
  }, [files, onChange]);
  useEffect(() => () => (preview ? URL.revokeObjectURL(preview.url) : undefined), [preview]);

  return (
    <>
      <Upload<Evidence>
        listType="picture-card"
        accept=".png,.jpg,.jpeg,.pdf,image/png,image/jpeg,application/pdf"
        multiple
        fileList={files}
        data-testid="evidence-upload"
        beforeUpload={(file) => {
          if (!ALLOWED.includes(file.type)) {
            setError(new Error(t('refundApply.fileType')));
            return Upload.LIST_IGNORE;
          }
          if (file.size > MAX_BYTES) {
            setError(new Error(t('refundApply.fileSize')));
            return Upload.LIST_IGNORE;
          }
          setError(null);
          return true;
        }}
        customRequest={({ file, onSuccess, onError }) => {
          const form = new FormData();
          form.append('file', file as Blob);
          sendForm<Evidence>('/v1/evidence', form)
            .then((evidence) => onSuccess?.(evidence))
            .catch((failure: unknown) => {
              setError(failure);
              onError?.(failure instanceof Error ? failure : new Error(String(failure)));
            });
        }}
        onChange={({ fileList }) => setFiles(fileList)}
        iconRender={(file) => (file.type === 'application/pdf' ? <FilePdfOutlined /> : undefined)}
        onPreview={(file) => {
          if (file.originFileObj && file.type?.startsWith('image/')) {
            setPreview({ url: URL.createObjectURL(file.originFileObj), name: file.name });
          }
        }}
      >
        <div>
          <PlusOutlined />
          <div style={{ marginTop: 8 }}>{t('refundApply.upload')}</div>
        </div>
      </Upload>
      {error ? (
        error instanceof Error && !('problem' in error) ? (
          <div style={{ color: '#ff4d4f' }} role="alert">
            {error.message}
          </div>
        ) : (
          <ErrorAlert error={error} />
        )
      ) : null}
      <Modal open={preview !== null} title={preview?.name} footer={null} onCancel={() => setPreview(null)}>
        {preview ? <img alt={preview.name} src={preview.url} style={{ width: '100%' }} data-testid="evidence-preview" /> : null}
      </Modal>
    </>
  );
}
