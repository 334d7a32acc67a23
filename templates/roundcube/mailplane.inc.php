<?php
// /etc/roundcube/mailplane.inc.php for {{hostname}}, rendered by mailplane and
// included at the end of Debian's config.inc.php (install-mail-stack.sh), so the
// package keeps its database settings and generated des_key.
// Over the loopback: the master user may only log in from the server itself, and the
// certificate's name is not 127.0.0.1 (nor is it trusted before ACME has issued one).
// Nothing on the loopback can intercept, so the peer is not verified there.
$config['imap_host'] = 'ssl://127.0.0.1:993';
$config['smtp_host'] = 'ssl://127.0.0.1:465';
$config['imap_conn_options'] = ['ssl' => ['verify_peer' => false, 'verify_peer_name' => false]];
$config['smtp_conn_options'] = ['ssl' => ['verify_peer' => false, 'verify_peer_name' => false]];
$config['smtp_user'] = '%u';
$config['smtp_pass'] = '%p';
$config['username_domain'] = '{{domain}}';
$config['mail_domain'] = '{{domain}}';
$config['product_name'] = 'Webmail {{domain}}';
$config['plugins'] = ['archive', 'zipdownload', 'managesieve', 'mailplane_autologin'];
$config['enable_installer'] = false;
$config['use_https'] = true;
$config['ip_check'] = true;
$config['session_samesite'] = 'Lax';
$config['login_rate_limit'] = 3;
$config['x_frame_options'] = 'sameorigin';
$config['useragent'] = 'Webmail';
// Master credentials for auto-login sessions (written once per server by install-mail-stack.sh).
include '/etc/roundcube/mailplane-master.inc.php';
// Filters and the out-of-office reply in Roundcube (managesieve plugin, roundcube-plugins) over
// ManageSieve on the loopback with STARTTLS (Dovecot refuses a login before TLS). Sessions opened
// by the single-use link have no password of the user: the master user logs in for them (SASL PLAIN
// authorization id, as for IMAP), allowed from the loopback only (its allow_nets).
$config['managesieve_host'] = 'tls://127.0.0.1';
$config['managesieve_port'] = 4190;
$config['managesieve_conn_options'] = ['ssl' => ['verify_peer' => false, 'verify_peer_name' => false]];
$config['managesieve_auth_type'] = 'PLAIN';
$config['managesieve_auth_cid'] = $config['mailplane_master_user'];
$config['managesieve_auth_pw'] = $config['mailplane_master_password'];
// The out-of-office reply is mailplane's (dashboard/API, run before these filters): no second one here.
$config['managesieve_vacation'] = 0;
