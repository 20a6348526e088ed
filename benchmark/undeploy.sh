#!/bin/bash
# Run inside a benchmark container (scripts/benchmark.py, not measured):
# take Heat away again, so that the next apply is a fresh one on the same
# prepared controller. What either tool added goes: the packages installed
# since /root/bench-packages.baseline (written just before the first fresh
# apply), Heat's files, its database and database users, and its Keystone
# objects (the lab's names, which both tools use). MariaDB, RabbitMQ,
# Keystone, the admin and demo projects, and puppet itself stay.
set -o nounset -o pipefail -o errexit

baseline=/root/bench-packages.baseline
test -s "$baseline" || { echo "undeploy: no $baseline" >&2; exit 1; }

systemctl stop heat-api heat-api-cfn heat-engine 2>/dev/null || true
added=$(comm -13 "$baseline" <(dpkg-query -W -f '${Package}\n' | sort))
if [ -n "$added" ]; then
    # shellcheck disable=SC2086  # one package name a word
    DEBIAN_FRONTEND=noninteractive apt-get purge --yes --quiet $added >/dev/null
fi
rm -rf /etc/heat /var/lib/heat /var/log/heat /etc/default/heat-api /etc/default/heat-api-cfn \
    /etc/systemd/system/heat-engine.service.d
systemctl daemon-reload

mysql --batch --skip-column-names --execute \
    "SELECT CONCAT('DROP USER \`', user, '\`@\`', host, '\`;') FROM mysql.user WHERE user = 'heat'" \
    | mysql
mysql --execute 'DROP DATABASE IF EXISTS heat'

# shellcheck disable=SC1091
. /root/admin-openrc.sh
openstack service list -f value -c ID -c Type | awk '$2 == "orchestration" || $2 == "cloudformation" {print $1}' \
    | xargs -r openstack service delete
openstack user delete --domain Default heat 2>/dev/null || true
if openstack domain show heat >/dev/null 2>&1; then
    openstack domain set --disable heat
    openstack domain delete heat
fi
openstack role delete heat_stack_user heat_stack_owner 2>/dev/null || true
echo "undeploy: purged $(echo "$added" | wc -w) packages; database and Keystone objects removed"
