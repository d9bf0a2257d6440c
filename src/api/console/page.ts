/** The console page: noVNC's RFB client on a full-window canvas, connecting back with the same token. */
export function vncPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Stacklet console</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>html,body{margin:0;height:100%;background:#111;color:#ddd;font:14px system-ui,sans-serif}
#bar{padding:6px 10px;background:#222;display:flex;gap:12px;align-items:center}
#screen{height:calc(100% - 34px)}button{font:inherit}</style></head>
<body><div id="bar"><strong>Stacklet console</strong><span id="status" role="status">connecting…</span>
<button id="cad" type="button">Send Ctrl-Alt-Del</button></div><div id="screen"></div>
<script type="module">
import RFB from '/console/novnc/core/rfb.js';
const q = new URLSearchParams(location.search);
let token = q.get('token') || '';
if (!token && q.get('path')) token = new URLSearchParams(q.get('path').split('?')[1] || '').get('token') || '';
const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/console/websocket?token=' + encodeURIComponent(token);
const status = document.getElementById('status');
const rfb = new RFB(document.getElementById('screen'), url);
rfb.scaleViewport = true;
rfb.addEventListener('connect', () => { status.textContent = 'connected'; });
rfb.addEventListener('disconnect', (e) => { status.textContent = e.detail.clean ? 'disconnected' : 'connection lost: ask for a new console link'; });
document.getElementById('cad').addEventListener('click', () => rfb.sendCtrlAltDel());
</script></body></html>`;
}
