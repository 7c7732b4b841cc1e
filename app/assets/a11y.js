/* Ties each field's error message to its input for screen readers (aria-describedby, aria-invalid):
   dash-bootstrap-components renders them as siblings without the link; names the admin table's row
   selectors; marks verbatim inputs for phones' keyboards; focuses an outcome that appears. Runs on every
   page change. */
(function () {
  function link() {
    // The attendee table's row selectors (/admin) are bare radio buttons: name each after its row.
    // Renamed on every change: the table reuses its rows' elements when it refreshes or pages.
    document.querySelectorAll("input[name^='row-select']").forEach(function (radio) {
      var row = radio.closest("tr");
      var cell = row && row.querySelector("td[data-dash-column='username']");
      var label = "Select " + (cell ? cell.textContent.trim() : "this attendee");
      if (radio.getAttribute("aria-label") !== label) {
        radio.setAttribute("aria-label", label);
      }
    });
    // Typed as is: no capital, correction or spell check on phones (usernames, codes, emails).
    document.querySelectorAll("input.verbatim:not([autocapitalize])").forEach(function (input) {
      input.setAttribute("autocapitalize", "none");
      input.setAttribute("autocorrect", "off");
      input.setAttribute("spellcheck", "false");
    });
    // An outcome that appears takes the focus (once): read first, and the keyboard goes on from there.
    document.querySelectorAll("[data-focus='on-show']:not([data-focused])").forEach(function (element) {
      element.setAttribute("data-focused", "yes");
      element.focus();
    });
    // Signed out (the sign-in form, the room screen's notice): the room screen's access code goes too.
    if (document.getElementById("admin-token") || document.getElementById("room-signed-out")) {
      try {
        window.localStorage.removeItem("room-code");
      } catch (e) {
      }
    }
    document.querySelectorAll("form input[id], #ways input[id]").forEach(function (input) {
      var ids = [input.id + "-feedback", input.id + "-hint"].filter(function (id) {
        return document.getElementById(id);
      });
      if (ids.length && input.getAttribute("aria-describedby") !== ids.join(" ")) {
        input.setAttribute("aria-describedby", ids.join(" "));
      }
      var invalid = input.classList.contains("is-invalid") ? "true" : "false";
      if (input.getAttribute("aria-invalid") !== invalid) {
        input.setAttribute("aria-invalid", invalid);
      }
    });
  }
  new MutationObserver(link).observe(document.documentElement, {subtree: true, childList: true,
                                                                 attributes: true, attributeFilter: ["class"]});
  document.addEventListener("DOMContentLoaded", link);
})();
