// Compose page: move focus to the error summary after a refusal, check the attachment size
// before a long upload, and keep the Send button from being pressed twice.
(function () {
  'use strict';
  var problem = document.getElementById('problem');
  if (problem) problem.focus();
  var form = document.querySelector('form.compose');
  if (!form) return;
  var files = document.getElementById('attachments');
  var max = Number((files && files.getAttribute('data-max-bytes')) || 0);
  form.addEventListener('submit', function (ev) {
    if (files && max > 0) {
      var total = 0;
      for (var i = 0; i < files.files.length; i++) total += files.files[i].size;
      if (total > max) {
        ev.preventDefault();
        files.setCustomValidity('The attachments are too large together.');
        files.reportValidity();
        return;
      }
      files.setCustomValidity('');
    }
    var button = form.querySelector('button[type="submit"]');
    if (button) {
      // Disabled after this tick, so the button's own submission still happens.
      setTimeout(function () {
        button.disabled = true;
        button.textContent = 'Sending…';
      }, 0);
    }
  });
})();
