// The playground page: passes query parameters on to the element, e.g.
// ?preset=conv&latent-dim=2&batch=32&backend=cpu&autostart&bench=50, then loads it.
const ATTRS = ['preset', 'latent-dim', 'beta', 'lr', 'batch', 'seed', 'recon', 'backend', 'autostart', 'bench', 'controls', 'views', 'theme'];
const params = new URLSearchParams(location.search);
const el = document.querySelector('vae-playground');
for (const name of ATTRS) {
  if (params.has(name)) el.setAttribute(name, params.get(name));
}
await import('./vae-playground.js');
