// Behaviour of the staff UI that the content security policy (script-src 'self') keeps out of
// the templates: no inline handlers. Listeners sit on the document, so content that htmx swaps
// in later behaves the same.
(function () {
  "use strict";

  // <select data-autosubmit>: choosing an option submits its form (the language switcher).
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field instanceof HTMLSelectElement && field.hasAttribute("data-autosubmit") && field.form) {
      field.form.submit();
    }
  });

  // <form data-confirm="Question?">: ask before the form is sent; "Cancel" sends nothing.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form instanceof HTMLFormElement ? form.getAttribute("data-confirm") : null;
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
})();
