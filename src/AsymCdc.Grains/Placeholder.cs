namespace AsymCdc.Grains;
