// The join link, /?code=<access code>: the code rides in the link (or its QR code), so the form's access
// code field is filled in from it and hidden. Once read, the code leaves the address bar and the history
// (a shared screen, a borrowed phone) and is kept for this tab only (sessionStorage, gone with the tab), so
// that reloading the page still knows it. A wrong code is then reported as any wrong code.
window.dash_clientside = window.dash_clientside || {};
window.dash_clientside.join = {
  code: function (search) {
    var code = new URLSearchParams(search || "").get("code");
    var kept = null;
    try {
      if (code) {
        window.sessionStorage.setItem("workshop-join-code", code.slice(0, 200));
      } else {
        kept = window.sessionStorage.getItem("workshop-join-code");
      }
    } catch (e) {  // storage refused (private mode): the link's code still fills the field this time
    }
    if (code) {
      var url = new URL(window.location.href);
      url.searchParams.delete("code");
      window.history.replaceState(window.history.state, "", url.pathname + url.search + url.hash);
    }
    code = code || kept;
    if (!code) {
      return [window.dash_clientside.no_update, window.dash_clientside.no_update];
    }
    return [code.slice(0, 200), {display: "none"}];
  }
};
