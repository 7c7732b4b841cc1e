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
