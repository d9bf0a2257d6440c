import { parseErrorBody } from './errors';

/**
 * PUTs a file with XMLHttpRequest, whose upload events give progress (fetch
 * has none for request bodies). Resolves when the server has answered 2xx.
 */
export function uploadFile(url: string, token: string, file: Blob, onProgress: (fraction: number) => void, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    xhr.setRequestHeader('x-auth-token', token);
    xhr.setRequestHeader('content-type', 'application/octet-stream');
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && e.total > 0) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        resolve();
      } else reject(parseErrorBody(xhr.status, xhr.responseText));
    };
    xhr.onerror = () => reject(new TypeError('the upload was cut off'));
    xhr.onabort = () => reject(new Error('Upload cancelled.'));
    signal?.addEventListener('abort', () => xhr.abort());
    xhr.send(file);
  });
}
