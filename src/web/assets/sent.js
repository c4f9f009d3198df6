// Sent page: polls /api/sent and updates each recipient's state in place. Changes are
// announced through the polite live region; new messages are added at the top.
(function () {
  'use strict';
  var list = document.getElementById('messages');
  var live = document.getElementById('live');
  if (!list || !window.fetch) return;
  var FAST = 2000;
  var SLOW = 20000;
  var timer = null;
  var stopped = false;

  function announce(text) {
    if (!live) return;
    var p = document.createElement('p');
    p.textContent = text;
    live.appendChild(p);
    while (live.childNodes.length > 5) live.removeChild(live.firstChild);
  }

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function utc(ms) {
    var d = new Date(ms).toISOString();
    return d.slice(0, 10) + ' ' + d.slice(11, 16) + ' UTC';
  }

  function row(r) {
    var tr = el('tr', { id: 'r-' + r.id, 'data-state': r.state });
    tr.appendChild(el('th', { scope: 'row' }, r.address));
    var st = el('td', { class: 'state' });
    st.appendChild(el('span', { class: 'badge s-' + r.state }, r.state));
    tr.appendChild(st);
    tr.appendChild(el('td', { class: 'detail' }, r.detail));
    return tr;
  }

  function block(m) {
    var title = m.subject || '(no subject)';
    var sec = el('section', {
      class: 'message',
      id: 'm-' + m.id,
      'data-id': m.id,
      'aria-labelledby': 'm-' + m.id + '-h',
    });
    sec.appendChild(el('h2', { id: 'm-' + m.id + '-h' }, title));
    var meta = el('p', { class: 'meta' }, 'Sent ');
    meta.appendChild(el('time', { datetime: new Date(m.created).toISOString() }, utc(m.created)));
    meta.appendChild(document.createTextNode(', queue id '));
    meta.appendChild(el('code', {}, m.id));
    sec.appendChild(meta);
    var table = el('table');
    table.appendChild(el('caption', { class: 'visually-hidden' }, 'Recipients of ' + title));
    var head = el('thead');
    var hr = el('tr');
    ['Recipient', 'State', 'Details'].forEach(function (h) {
      hr.appendChild(el('th', { scope: 'col' }, h));
    });
    head.appendChild(hr);
    table.appendChild(head);
    var body = el('tbody');
    m.recipients.forEach(function (r) {
      body.appendChild(row(r));
    });
    table.appendChild(body);
    sec.appendChild(table);
    return sec;
  }

  function apply(data) {
    var pending = false;
    var none = document.getElementById('no-messages');
    // Oldest first, so that each new message is put on top of the ones before it.
    data.messages
      .slice()
      .reverse()
      .forEach(function (m) {
        m.recipients.forEach(function (r) {
          if (r.state !== 'delivered' && r.state !== 'bounced') pending = true;
        });
        if (!document.getElementById('m-' + m.id)) {
          if (none) {
            none.remove();
            none = null;
          }
          list.insertBefore(block(m), list.firstChild);
          announce('New message: ' + (m.subject || '(no subject)'));
          return;
        }
        m.recipients.forEach(function (r) {
          var tr = document.getElementById('r-' + r.id);
          if (!tr) return;
          var detail = tr.querySelector('td.detail');
          if (tr.getAttribute('data-state') !== r.state) {
            tr.setAttribute('data-state', r.state);
            var badge = tr.querySelector('.badge');
            badge.className = 'badge s-' + r.state;
            badge.textContent = r.state;
            announce(r.address + ': ' + r.state + '. ' + r.detail);
          }
          if (detail && detail.textContent !== r.detail) detail.textContent = r.detail;
        });
      });
    return pending;
  }

  function schedule(ms) {
    clearTimeout(timer);
    if (stopped || document.hidden) return;
    timer = setTimeout(poll, ms);
  }

  function poll() {
    fetch('/api/sent', {
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { Accept: 'application/json' },
    })
      .then(function (res) {
        if (res.status === 401) {
          stopped = true;
          announce('Your session has ended. Log in again to see updates.');
          return null;
        }
        if (!res.ok) throw new Error('HTTP ' + res.status);
        return res.json();
      })
      .then(function (data) {
        if (data) schedule(apply(data) ? FAST : SLOW);
      })
      .catch(function () {
        schedule(SLOW);
      });
  }

  document.addEventListener('visibilitychange', function () {
    if (document.hidden) clearTimeout(timer);
    else schedule(0);
  });
  schedule(FAST);
})();
