# The benchmark's peer (scripts/benchmark.py --peer puppet): the install
# guide's "Add the Orchestration service" with Debian's puppet-heat, on a
# controller prepared exactly as this project's (benchmark/prepare.yml:
# MariaDB, RabbitMQ, Keystone in RegionOne). Only puppet-heat's documented
# classes; the values are the ones the heat role gets in the lab.
#
# The lab's values come from the structured fact `heat_lab`
# (/etc/facter/facts.d/heat_lab.json, written by benchmark.py from
# inventory/lab/group_vars/all/lab.yml). `heat_debug` (FACTER_heat_debug=true
# or false) sets [DEFAULT] debug: the benchmark's one heat.conf change; unset,
# the key is left to puppet-heat's default (absent).
#
#   FACTER_heat_debug=true puppet apply --detailed-exitcodes heat.pp

$lab = $facts['heat_lab']
$controller = 'controller'
$keystone = "http://${controller}:5000"
$region = 'RegionOne'
$debug = $facts['heat_debug'] ? {
  'true'  => true,
  'false' => false,
  default => $facts['os_service_default'],
}

# puppet-keystone's providers (keystone_user, keystone_endpoint ...) read
# their credentials from a clouds.yaml with a `project` and a `system` cloud
# (domains and some users are looked up system-scoped). puppet-keystone's
# keystone::bootstrap writes one; here Keystone is the lab's, so the manifest
# writes it, with the admin credentials the heat role is given, in a stage
# before everything else.
class heat_lab_clouds (String[1] $admin_password) {
  $admin = {
    'auth_url'            => "${keystone}/v3",
    'username'            => 'admin',
    'password'            => $admin_password,
    'user_domain_name'    => 'Default',
  }
  $clouds = {
    'clouds' => {
      'project' => {
        'auth'        => $admin + { 'project_name' => 'admin', 'project_domain_name' => 'Default' },
        'region_name' => $region,
      },
      'system'  => {
        'auth'        => $admin + { 'system_scope' => 'all' },
        'region_name' => $region,
      },
    },
  }
  file { ['/etc/openstack', '/etc/openstack/puppet']:
    ensure => directory,
    mode   => '0755',
  }
  file { '/etc/openstack/puppet/clouds.yaml':
    ensure    => file,
    mode      => '0600',
    content   => stdlib::to_yaml($clouds),
    show_diff => false,
  }
}

stage { 'heat_lab_setup': before => Stage['main'] }
class { 'heat_lab_clouds':
  stage          => 'heat_lab_setup',
  admin_password => $lab['admin_password'],
}

# openstacklib::db::mysql includes mysql::server, which by default replaces
# /etc/mysql/my.cnf with puppetlabs-mysql's own (bind-address 127.0.0.1,
# max_connections 151, without Debian's mariadb.conf.d) and chmods the
# datadir: MariaDB is the lab's, as the heat role expects, so puppet leaves
# its configuration and service alone.
class { 'mysql::server':
  manage_config_file => false,
  managed_dirs       => [],
  service_manage     => false,
}

# The database and its grants. MariaDB reports a database created with
# charset `utf8` as `utf8mb3`, and puppetlabs-mysql then sees a change on
# every run (which re-runs db_sync and restarts every heat service): the
# charset the heat role uses, utf8mb4, avoids that.
class { 'heat::db::mysql':
  password      => $lab['heat_db_password'],
  host          => 'localhost',
  allowed_hosts => ['%'],
  charset       => 'utf8mb4',
  collate       => 'utf8mb4_general_ci',
}

class { 'heat::db':
  database_connection => "mysql+pymysql://heat:${lab['heat_db_password']}@${controller}/heat",
}

class { 'heat::logging':
  debug => $debug,
}

# Declared before `heat`, which includes it.
class { 'heat::keystone::authtoken':
  password             => $lab['heat_keystone_password'],
  auth_url             => $keystone,
  www_authenticate_uri => $keystone,
  project_name         => 'service',
  region_name          => $region,
}

class { 'heat':
  default_transport_url => "rabbit://${lab['rabbit_user']}:${lab['rabbit_password']}@${controller}:5672/",
  region_name           => $region,
}

# Keystone: the heat user (admin of the service project), the orchestration
# and cloudformation services with public/internal/admin endpoints, the
# heat_stack_owner and heat_stack_user roles.
class { 'heat::keystone::auth':
  password                  => $lab['heat_keystone_password'],
  tenant                    => 'service',
  region                    => $region,
  public_url                => "http://${controller}:8004/v1/%(tenant_id)s",
  internal_url              => "http://${controller}:8004/v1/%(tenant_id)s",
  admin_url                 => "http://${controller}:8004/v1/%(tenant_id)s",
  configure_delegated_roles => true,
}

# The heat role registers the cloudformation service for the same heat user.
class { 'heat::keystone::auth_cfn':
  password            => $lab['heat_keystone_password'],
  auth_name           => 'heat',
  tenant              => 'service',
  region              => $region,
  configure_user      => false,
  configure_user_role => false,
  public_url          => "http://${controller}:8000/v1",
  internal_url        => "http://${controller}:8000/v1",
  admin_url           => "http://${controller}:8000/v1",
}

# The stack domain and its admin.
class { 'heat::keystone::domain':
  domain_name     => 'heat',
  domain_admin    => 'heat_domain_admin',
  domain_password => $lab['heat_domain_admin_password'],
}

class { 'heat::trustee':
  password => $lab['heat_keystone_password'],
  auth_url => $keystone,
}

class { 'heat::clients':
  endpoint_type => 'internalURL',
}

class { 'heat::clients::keystone':
  auth_uri => $keystone,
}

class { 'heat::clients::heat':
  endpoint_type => 'publicURL',
}

class { 'heat::api': }
class { 'heat::api_cfn': }

class { 'heat::engine':
  auth_encryption_key           => $lab['heat_auth_encryption_key'],
  heat_metadata_server_url      => "http://${controller}:8000",
  heat_waitcondition_server_url => "http://${controller}:8000/v1/waitcondition",
  num_engine_workers            => 2,
}

class { 'heat::client': }
