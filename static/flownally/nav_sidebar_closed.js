// The admin's navigation sidebar starts closed: open, it takes 276 px that a changelist
// needs at 1280 px. Django's nav_sidebar.js (deferred, so it runs after this) opens it
// when nothing is stored; the toggle stores the staff member's own choice, kept from then on.
"use strict";
if (localStorage.getItem("django.admin.navSidebarIsOpen") === null) {
  localStorage.setItem("django.admin.navSidebarIsOpen", "false");
}
