import 'uplot/dist/uPlot.min.css'; import './app.css'; console.log('x');
