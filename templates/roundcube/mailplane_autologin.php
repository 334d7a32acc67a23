<?php
/**
 * mailplane_autologin: opens a Roundcube session for the mailbox that the
 * token verifier vouched for. nginx runs the verifier as an auth_request on
 * /autologin and only then calls Roundcube, passing the verified mailbox in the
 * FastCGI parameter MAILPLANE_AUTOLOGIN_MAILBOX (clients cannot set it: their
 * headers arrive as HTTP_*, and every other location sets it empty).
 *
 * The session logs in to IMAP and SMTP with SASL PLAIN where the authorization
 * id is the mailbox and the authentication id is a Dovecot master user that is
 * only accepted from this host; the mailbox's own password is never needed.
 */
class mailplane_autologin extends rcube_plugin
{
    public function init()
    {
        $this->add_hook('startup', [$this, 'startup']);
        $this->add_hook('authenticate', [$this, 'authenticate']);
        $this->add_hook('login_after', [$this, 'login_after']);
    }

    public function startup($args)
    {
        if ($this->verified_mailbox() !== null) {
            $args['task'] = 'login';
            $args['action'] = 'login';
        } elseif (!empty($_SESSION['mailplane_autologin'])) {
            // Every request of an auto-login session reconnects with the master credentials.
            $this->use_master_credentials();
        }
        return $args;
    }

    public function authenticate($args)
    {
        $mailbox = $this->verified_mailbox();
        if ($mailbox === null) {
            return $args;
        }
        $rcmail = rcmail::get_instance();
        // Whatever session the browser had is replaced by the verified mailbox's.
        $rcmail->kill_session();
        $this->use_master_credentials();
        $args['user'] = $mailbox;
        // Never sent anywhere: IMAP and SMTP authenticate with the master credentials.
        $args['pass'] = bin2hex(random_bytes(16));
        $args['cookiecheck'] = false;
        $args['valid'] = true;
        return $args;
    }

    public function login_after($args)
    {
        if ($this->verified_mailbox() !== null) {
            $_SESSION['mailplane_autologin'] = true;
        }
        return $args;
    }

    private function verified_mailbox()
    {
        $mailbox = isset($_SERVER['MAILPLANE_AUTOLOGIN_MAILBOX']) ? (string) $_SERVER['MAILPLANE_AUTOLOGIN_MAILBOX'] : '';
        return preg_match('/^[a-z0-9][a-z0-9._+-]{0,63}@[a-z0-9.-]{1,253}$/', $mailbox) === 1 ? $mailbox : null;
    }

    private function use_master_credentials()
    {
        $config = rcmail::get_instance()->config;
        foreach (['imap', 'smtp'] as $service) {
            $config->set($service . '_auth_type', 'PLAIN');
            $config->set($service . '_auth_cid', $config->get('mailplane_master_user'));
            $config->set($service . '_auth_pw', $config->get('mailplane_master_password'));
        }
    }
}
