#!/bin/bash
# The install recipe a bake runs on its instance (uploaded by packer's shell provisioner).
#
# Input, from the template's environment_vars:
#   package_type  deb or rpm (the base image's packageType)
#   packages      space-separated packages, pinned as the package manager wants (deb: name=version,
#                 rpm: name-version); installed one by one, in order
#   repository    extra repositories, ';'-separated (deb: "URL suite components"; rpm: a baseurl)
#   upgrade       "true": upgrade the base image's packages first
#
# Every value is used as data: split into arrays and quoted, never evaluated.
set -euo pipefail

# a repository URL may carry credentials (https://user:token@host/...): show it without them
echo "repository=$(printf '%s' "${repository:-}" | sed -E 's#//[^/@]*@#//#g')"
echo "package_type=${package_type:-}"
echo "packages=${packages:-}"
echo "upgrade=${upgrade:-}"

read -r -a package_list <<< "${packages:-}"
IFS=';' read -r -a repositories <<< "${repository:-}"

install_deb() {
  local repo package
  for repo in ${repositories[@]+"${repositories[@]}"}; do
    [ -n "$repo" ] && printf 'deb %s\n' "$repo" | sudo tee -a /etc/apt/sources.list.d/gennaker.list > /dev/null
  done
  sudo DEBIAN_FRONTEND=noninteractive apt-get -y update
  if [ "${upgrade:-}" = "true" ]; then
    sudo DEBIAN_FRONTEND=noninteractive apt-get -y upgrade
  fi
  for package in ${package_list[@]+"${package_list[@]}"}; do
    sudo DEBIAN_FRONTEND=noninteractive apt-get -y install -- "$package"
  done
  sudo rm -f /etc/apt/sources.list.d/gennaker.list
}

install_rpm() {
  local repo package n=0
  for repo in ${repositories[@]+"${repositories[@]}"}; do
    [ -n "$repo" ] || continue
    n=$((n + 1))
    printf '[gennaker-%s]\nname=gennaker-%s\nbaseurl=%s\ngpgcheck=0\nenabled=1\n' "$n" "$n" "$repo" \
      | sudo tee "/etc/yum.repos.d/gennaker-$n.repo" > /dev/null
  done
  if [ "${upgrade:-}" = "true" ]; then
    sudo yum -y update
  fi
  for package in ${package_list[@]+"${package_list[@]}"}; do
    sudo yum -y install -- "$package"
  done
  sudo rm -f /etc/yum.repos.d/gennaker-*.repo
}

case "${package_type:-}" in
  deb) install_deb ;;
  rpm) install_rpm ;;
  *) echo "install_packages.sh: unknown package_type '${package_type:-}' (deb or rpm)" >&2; exit 1 ;;
esac
