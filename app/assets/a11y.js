/* Ties each field's error message to its input for screen readers (aria-describedby, aria-invalid):
   dash-bootstrap-components renders them as siblings without the link; names the admin table's row
   selectors. Runs on every page change. */
(function () {
  function link() {
    // The attendee table's row selectors (/admin) are bare radio buttons: name each after its row.
    document.querySelectorAll("input[name^='row-select']:not([aria-label])").forEach(function (radio) {
      var row = radio.closest("tr");
      var cell = row && row.querySelector("td[data-dash-column='username']");
      radio.setAttribute("aria-label", "Select " + (cell ? cell.textContent.trim() : "this attendee"));
    });
    document.querySelectorAll("form input[id]").forEach(function (input) {
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
