// mailplane dashboard: passkey ceremonies. A form with data-passkey="register"
// or "sign-in" asks the API for WebAuthn options, runs the browser's ceremony
// through @simplewebauthn/browser (/assets/webauthn.js, served by mailplane),
// puts the answer in the form's hidden "response" field and submits the form,
// so the server checks it and renders the result like any other form post.
'use strict';

async function postJson(url, body) {
  const res = await fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body || {}),
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.detail || data.title || `The server answered ${res.status}`);
  return data;
}

function showError(form, message) {
  const el = form.querySelector('.passkey-error');
  if (!el) return;
  el.textContent = message;
  el.hidden = false;
}

for (const form of document.querySelectorAll('form[data-passkey]')) {
  form.addEventListener('submit', async (event) => {
    if (form.dataset.answered === '1') return;
    event.preventDefault();
    const wa = window.SimpleWebAuthnBrowser;
    const button = form.querySelector('button[type=submit]');
    try {
      if (!wa?.browserSupportsWebAuthn()) throw new Error('This browser cannot use passkeys.');
      if (button) button.disabled = true;
      let response;
      if (form.dataset.passkey === 'register') {
        response = await wa.startRegistration({ optionsJSON: await postJson('/v1/me/two-factor/passkeys/options') });
      } else {
        const optionsJSON = await postJson('/v1/auth/login/passkey/options', { challenge: form.elements.challenge.value });
        response = await wa.startAuthentication({ optionsJSON });
      }
      form.elements.response.value = JSON.stringify(response);
      form.dataset.answered = '1';
      form.submit();
    } catch (err) {
      if (button) button.disabled = false;
      showError(form, err && err.name === 'NotAllowedError' ? 'The passkey request was cancelled or timed out.' : String(err?.message || err));
    }
  });
}
