// The page's choice between its ways in (claim a seat, choose my own login, sign back in): the chosen
// section is shown, the others hidden, in the browser (no round trip). Each output is a section's style.
window.dash_clientside = window.dash_clientside || {};
window.dash_clientside.ways = {
  show: function (chosen) {
    return window.dash_clientside.callback_context.outputs_list.map(function (output) {
      return output.id === chosen ? {} : {display: "none"};
    });
  }
};
// Enter in the page's access-code field (above the forms) submits the chosen way in, as Enter in any of
// its own fields does.
document.addEventListener("keydown", function (event) {
  if (event.key !== "Enter" || event.isComposing || !event.target || event.target.id !== "access-code") {
    return;
  }
  var shown = Array.prototype.find.call(document.querySelectorAll("#ways section form"), function (form) {
    return form.offsetParent !== null;
  });
  if (shown && shown.requestSubmit) {
    event.preventDefault();
    shown.requestSubmit();
  }
});
