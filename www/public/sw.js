// Terrapin viewer service worker: keeps the app shell (index.html and the hashed assets: JS,
// CSS, wasm) so the viewer opens offline with the history already synced into IndexedDB.
// The sync API (same origin when the worker serves the app) is never touched.
const CACHE = 'terrapin-www-v1';
const scope = new URL(self.registration.scope);
const isShell = (url) => url.origin === scope.origin && (url.pathname === scope.pathname || url.pathname === scope.pathname + 'index.html');
const isAsset = (url) => url.origin === scope.origin && url.pathname.startsWith(scope.pathname + 'assets/');

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));

self.addEventListener('fetch', (e) => {
  const req = e.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (isAsset(url)) {
    // Hashed names never change: cache first.
    e.respondWith(
      caches.open(CACHE).then(async (c) => {
        const hit = await c.match(req);
        if (hit) return hit;
        const res = await fetch(req);
        if (res.ok) await c.put(req, res.clone());
        return res;
      }),
    );
  } else if (req.mode === 'navigate' && isShell(url)) {
    // The page: network first (new deployments win), the cached copy offline.
    e.respondWith(
      fetch(req)
        .then(async (res) => {
          if (res.ok) await (await caches.open(CACHE)).put(scope.href, res.clone());
          return res;
        })
        .catch(async () => (await caches.match(scope.href)) ?? Response.error()),
    );
  }
});

// The page tells which assets it runs on: cache them (they were loaded before this worker
// controlled the page) and drop assets of older builds.
self.addEventListener('message', (e) => {
  const urls = e.data?.type === 'assets' ? e.data.urls : null;
  if (!Array.isArray(urls)) return;
  e.waitUntil(
    caches.open(CACHE).then(async (c) => {
      const keep = new Set(urls.map((u) => new URL(u, scope).href));
      for (const u of keep) if (!(await c.match(u))) await c.add(u).catch(() => {});
      if (!(await c.match(scope.href))) await c.add(scope.href).catch(() => {});
      for (const r of await c.keys()) if (isAsset(new URL(r.url)) && !keep.has(r.url)) await c.delete(r);
    }),
  );
});
