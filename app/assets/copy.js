// Copy buttons (<button data-copy="id">): copy the text of the element with that id (for a link, its
// address), and say so on the button and to screen readers for two seconds. Real buttons: a keyboard
// reaches them, a screen reader names them (their hidden words), and the page's CSP allows this file
// (script-src 'self'). Where the browser gives no clipboard (plain HTTP on another address than
// localhost), the text is selected instead, for Ctrl+C.
(function () {
  function say(button, words) {
    var shown = button.querySelector(".copy-label") || button;
    var label = button.getAttribute("data-label") || shown.textContent;
    button.setAttribute("data-label", label);
    shown.textContent = words;
    var status = document.getElementById("copy-status");
    if (!status) {
      status = document.createElement("div");
      status.id = "copy-status";
      status.className = "visually-hidden";
      status.setAttribute("role", "status");
      document.body.appendChild(status);
    }
    status.textContent = words;
    window.setTimeout(function () { shown.textContent = label; status.textContent = ""; }, 2000);
  }
  function select(source) {
    var range = document.createRange();
    range.selectNodeContents(source);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button[data-copy]") : null;
    var source = button && document.getElementById(button.getAttribute("data-copy"));
    if (!source) {
      return;
    }
    var text = source.tagName === "A" ? source.getAttribute("href") : source.textContent;
    if (!navigator.clipboard) {
      select(source);
      say(button, "Selected: press Ctrl+C");
      return;
    }
    navigator.clipboard.writeText(text).then(function () {
      say(button, "Copied ✓");
    }, function () {
      select(source);
      say(button, "Selected: press Ctrl+C");
    });
  });
})();
