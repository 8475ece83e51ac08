import { LabIcon } from '@jupyterlab/ui-components';

import svg from '../style/icons/nbrealtime.svg';

export const nbrealtimeIcon = new LabIcon({ name: 'nbrealtime:rooms', svgstr: svg });
