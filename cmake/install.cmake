# SPDX-License-Identifier: Apache-2.0
# Install layout and the Debian package (CPack DEB). Included from the top CMakeLists.txt.
#
#   cmake --install build            # onto this machine (prefix /usr unless told otherwise)
#   cd build && cpack -G DEB         # onestopd_VERSION_ARCH.deb
#
# The unit file and the package must agree on every path, so both follow one prefix. It
# defaults to /usr, not CMake's /usr/local: this is a system daemon whose configuration
# lives in /etc/onestopd (the daemon's built-in default path and the unit's
# ConfigurationDirectory=), and a Debian package may not install into /usr/local.
# Pass -DCMAKE_INSTALL_PREFIX=... to choose another.
if(CMAKE_INSTALL_PREFIX_INITIALIZED_TO_DEFAULT)
  set(CMAKE_INSTALL_PREFIX "/usr" CACHE PATH "Install prefix" FORCE)
  # GNUInstallDirs was included for the old prefix; this recomputes the FULL_ paths
  # (with prefix /usr, SYSCONFDIR becomes /etc).
  include(GNUInstallDirs)
endif()

set(ONESTOP_SYSTEMD_UNITDIR "lib/systemd/system" CACHE STRING
    "Directory of the systemd unit, relative to the prefix or absolute")
if(IS_ABSOLUTE "${ONESTOP_SYSTEMD_UNITDIR}")
  set(ONESTOP_FULL_UNITDIR "${ONESTOP_SYSTEMD_UNITDIR}")
else()
  set(ONESTOP_FULL_UNITDIR "${CMAKE_INSTALL_PREFIX}/${ONESTOP_SYSTEMD_UNITDIR}")
endif()

# Substituted into the unit file.
set(ONESTOP_BINDIR "${CMAKE_INSTALL_FULL_BINDIR}")
set(ONESTOP_CONFDIR "${CMAKE_INSTALL_FULL_SYSCONFDIR}/onestopd")
set(ONESTOP_CONFIG_FILE "${ONESTOP_CONFDIR}/onestopd.conf")
set(ONESTOP_DOCDIR "${CMAKE_INSTALL_FULL_DOCDIR}")
configure_file(${CMAKE_SOURCE_DIR}/systemd/onestopd.service.in
               ${CMAKE_BINARY_DIR}/onestopd.service @ONLY)

install(TARGETS onestopd RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${CMAKE_BINARY_DIR}/onestopd.service DESTINATION ${ONESTOP_FULL_UNITDIR})

# The example configuration becomes /etc/onestopd/onestopd.conf, but `cmake --install`
# must never overwrite a file an operator has edited: it installs the example only where
# none exists. (In the .deb the file is a conffile, so dpkg asks instead.) A pristine copy
# always goes to the documentation directory.
install(CODE "
  set(_dst \"\$ENV{DESTDIR}${ONESTOP_CONFIG_FILE}\")
  if(EXISTS \"\${_dst}\")
    message(STATUS \"Keeping existing: \${_dst}\")
  else()
    file(INSTALL DESTINATION \"${ONESTOP_CONFDIR}\" TYPE FILE
         PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
         RENAME onestopd.conf FILES \"${CMAKE_SOURCE_DIR}/systemd/onestopd.conf.example\")
  endif()")
install(FILES systemd/onestopd.conf.example DESTINATION ${CMAKE_INSTALL_DOCDIR})

install(FILES docs/man/onestopd.8 DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES docs/man/onestopd.conf.5 DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
file(GLOB ONESTOP_DOCS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/docs/*.md)
install(FILES README.md ${ONESTOP_DOCS} DESTINATION ${CMAKE_INSTALL_DOCDIR})

# ---- Debian package ----
set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "onestopd")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_CONTACT "Provincial IT Center <it@example.gov.vn>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "administrative-procedure indicators from iGate and VNPost for Prometheus")
set(CPACK_PACKAGE_DESCRIPTION
    "onestopd pulls dossier records and the procedure catalogue from the one-stop system
iGate and public-postal shipments from VNPost into PostgreSQL, computes the official
administrative-reform indicators per agency and period, and serves them to Prometheus
and through a report API.
.
The service is installed but neither enabled nor started: create the secret files in
/etc/onestopd, check the configuration with `onestopd --check-config`, then
`systemctl enable --now onestopd`.")
# The package installs exactly where the unit file says things are.
set(CPACK_PACKAGING_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
set(CPACK_STRIP_FILES TRUE)

set(CPACK_DEBIAN_PACKAGE_NAME "onestopd")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CPACK_PACKAGE_CONTACT}")
set(CPACK_DEBIAN_PACKAGE_SECTION "admin")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
# Depends come from the binary's actual libraries (dpkg-shlibdeps, from dpkg-dev).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The database may live on another host, so PostgreSQL is only recommended.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "postgresql-15")

# conffiles marks /etc/onestopd/onestopd.conf as the operator's; the maintainer scripts
# only tell systemd about the unit (see packaging/deb/).
file(WRITE ${CMAKE_BINARY_DIR}/deb/conffiles "${ONESTOP_CONFIG_FILE}\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_BINARY_DIR}/deb/conffiles
    ${CMAKE_SOURCE_DIR}/packaging/deb/postinst
    ${CMAKE_SOURCE_DIR}/packaging/deb/prerm
    ${CMAKE_SOURCE_DIR}/packaging/deb/postrm)
# Scripts 0755, conffiles 0644, whatever the checkout's modes.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)

set(CPACK_SOURCE_GENERATOR "TGZ")
set(CPACK_SOURCE_IGNORE_FILES "/\\\\.git/" "/build[^/]*/" "/_demo/" "__pycache__")

include(CPack)
