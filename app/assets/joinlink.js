// The join link, /?code=<access code>: the code rides in the link (or its QR code), so the form's access
// code field is filled in from it and hidden. A wrong code is then reported as any wrong code.
window.dash_clientside = window.dash_clientside || {};
window.dash_clientside.join = {
  code: function (search) {
    var code = new URLSearchParams(search || "").get("code");
    if (!code) {
      return [window.dash_clientside.no_update, window.dash_clientside.no_update];
    }
    return [code.slice(0, 200), {display: "none"}];
  }
};
