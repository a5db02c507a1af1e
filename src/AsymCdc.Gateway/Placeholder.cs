namespace AsymCdc.Gateway;
