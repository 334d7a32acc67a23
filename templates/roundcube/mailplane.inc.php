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
$config['plugins'] = ['archive', 'zipdownload', 'mailplane_autologin'];
$config['enable_installer'] = false;
$config['use_https'] = true;
$config['ip_check'] = true;
$config['session_samesite'] = 'Lax';
$config['login_rate_limit'] = 3;
$config['x_frame_options'] = 'sameorigin';
$config['useragent'] = 'Webmail';
// Master credentials for auto-login sessions (written once per server by install-mail-stack.sh).
include '/etc/roundcube/mailplane-master.inc.php';
